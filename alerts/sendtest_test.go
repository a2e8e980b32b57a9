package alerts

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSendTestReachesEverySinkOnce(t *testing.T) {
	std, slack, broken := newReceiver(t), newReceiver(t), newReceiver(t)
	broken.answer = func(*http.Request, int) (int, http.Header) { return http.StatusUnauthorized, nil }
	cfg := Config{Webhooks: []WebhookConfig{
		{Name: "soc", URL: std.URL, Secret: testSecret},
		{Name: "chat", URL: slack.URL, Format: FormatSlack},
		{Name: "siem", URL: broken.URL, Format: FormatJSON},
	}}
	res, err := SendTest(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Sink != "soc" || res[0].Err != nil || res[0].Status != 200 || res[1].Err != nil {
		t.Fatalf("results %+v", res)
	}
	if res[2].Err == nil || res[2].Status != 401 || !strings.Contains(res[2].Err.Error(), "HTTP 401") {
		t.Errorf("failing sink result %+v", res[2])
	}
	if len(std.requests()) != 1 || len(slack.requests()) != 1 || len(broken.requests()) != 1 {
		t.Errorf("requests %d %d %d, want one each (no retries in a test send)", len(std.requests()), len(slack.requests()), len(broken.requests()))
	}
	r := std.requests()[0]
	verifier, _ := NewSigner(testSecret)
	if err := verifier.Verify(r.header, r.body, time.Now(), time.Minute); err != nil {
		t.Error(err)
	}
	env := decodeBody(t, r.body)
	if env.Type != EventAlert || !env.Data.Test || !strings.HasPrefix(env.Data.Summary, "[TEST]") || env.Data.ASN != 64496 {
		t.Errorf("sample %+v", env.Data)
	}
	if !strings.Contains(string(slack.requests()[0].body), "[TEST]") {
		t.Errorf("slack sample %s", slack.requests()[0].body)
	}
}

func TestSendTestNeedsWebhooksAndAValidConfig(t *testing.T) {
	if _, err := SendTest(context.Background(), Config{}, nil); err == nil || !strings.Contains(err.Error(), "no webhooks") {
		t.Errorf("no webhooks: %v", err)
	}
	if _, err := SendTest(context.Background(), Config{Webhooks: []WebhookConfig{{URL: "https://x.example/"}}}, nil); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("bad config: %v", err)
	}
}
