package alerts

import "testing"

func TestRedisKeys(t *testing.T) {
	k := redisKeys{prefix: "mw"}
	n := Network{"KZ", 9198}
	tests := []struct {
		name, got, want string
	}{
		{name: "bucket_tagged_by_network", got: k.bucket(n, 29000000), want: "mw:{KZ:9198}:m:29000000"},
		{name: "clients_tagged_by_network", got: k.clients(n, 29000000), want: "mw:{KZ:9198}:c:29000000"},
		{name: "ja4_clients_tagged_by_network", got: k.ja4Clients(n, 29000000, "t13d"), want: "mw:{KZ:9198}:jc:29000000:t13d"},
		// sumLua builds JA4 clients keys from these prefixes and the
		// minute that follows bucketPrefix in a bucket key.
		{name: "bucket_is_its_prefix_and_minute", got: k.bucketPrefix(n) + "29000000", want: k.bucket(n, 29000000)},
		{name: "ja4_clients_is_its_prefix_minute_and_ja4", got: k.ja4ClientsPrefix(n) + "29000000:t13d", want: k.ja4Clients(n, 29000000, "t13d")},
		{name: "ack_tagged_by_network", got: k.ack(n, "ab12"), want: "mw:{KZ:9198}:ack:ab12"},
		{name: "tmp_tagged_by_network", got: k.tmp(n), want: "mw:{KZ:9198}:tmp"},
		{name: "active_set_untagged_spreads_over_slots", got: k.active(29000000), want: "mw:active:29000000"},
		{name: "fingerprint_index_shares_fp_tag", got: k.fpFirst() + " " + k.fpLast() + " " + k.fpNets("t13d"), want: "mw:{fp}:first mw:{fp}:last mw:{fp}:n:t13d"},
		{name: "as_names", got: k.asOrgs(), want: "mw:asorg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("key = %q, want %q", tc.got, tc.want)
			}
		})
	}
}
