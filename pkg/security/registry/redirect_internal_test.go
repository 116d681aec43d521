package registry

import "testing"

func TestOnThisMachine(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "a.b.localhost": true, "127.0.0.1": true, "127.255.0.9": true,
		"127.1": true, "0x7f.1": true, "0177.0.0.1": true, "2130706433": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true, "0.0.0.0": true, "0": true, "::": true, "fe80::1%eth0": false,
		"10.0.0.1": false, "192.168.0.1": false, "example.com": false, "localhost.example.com": false,
		"128.0.0.1": false, "1.2.3.4.5": false, "": false, "256.0.0.1": false, "127.0.0.1.nip.io": false,
	} {
		if got := onThisMachine(host); got != want {
			t.Errorf("onThisMachine(%q) = %v, want %v", host, got, want)
		}
	}
	for host, want := range map[string]bool{
		"169.254.169.254": true, "fe80::1": true, "[fe80::1%25eth0]": true, "fd00:ec2::254": false, "10.0.0.1": false, "example.com": false,
	} {
		if got := linkLocal(host); got != want {
			t.Errorf("linkLocal(%q) = %v, want %v", host, got, want)
		}
	}
}
