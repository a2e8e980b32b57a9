package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

// The Kazakhstan 2019 record as mitmengine stores it (mitm.txt, record
// kzmitm-20190719); REFERENCE.md gives its JA3 as
// 3859eefff506be3eb74171d82728eb4d.
const kzRecord = "0::0:0::0:|303:c02b,c02f,c02c,c030,c00a,c009,c013,c014,33,39,2f,35,ff:0,b,a,23,16,17,d:1d,17,1e,19,18:0,1,2::|kzmitm-20190719:0:0"

func TestJA3FromRecordMatchesThePublishedKazakhstanValue(t *testing.T) {
	req := strings.Split(strings.Split(kzRecord, "|")[1], ":")
	ja3, err := ja3FromRecord(req)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte(ja3))
	if got := hex.EncodeToString(sum[:]); got != "3859eefff506be3eb74171d82728eb4d" {
		t.Errorf("JA3 %s → %s", ja3, got)
	}
}

func TestRunKeepsProductsAndHeadersAndDropsTooCommonHeaders(t *testing.T) {
	in := strings.Join([]string{
		"# comment",
		kzRecord,
		"0::0:0::0:|:*:*:*:*:*x-bluecoat-via:*|BlueCoat:5:0",
		"0::0:0::0:|:*:*:25,24,23:*:*client-ip,x-forwarded-for:*|Forcepoint/WebSense:5:0",
	}, "\n")
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out, "b587be9c500985927c8dfb02a749d8432ab02b78"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"id: kzmitm-20190719", "kind: state_middlebox", "3859eefff506be3eb74171d82728eb4d", "name: x-bluecoat-via", "kind: corporate_proxy", "at b587be9"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "x-forwarded-for") {
		t.Errorf("a header record that needs a curve list was imported:\n%s", got)
	}
	if err := run(strings.NewReader("garbage|line"), &out, "x"); err == nil {
		t.Error("a malformed record was accepted")
	}
}
