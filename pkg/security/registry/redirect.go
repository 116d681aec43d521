package registry

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// redirectGuard refuses a redirect from a registry outside the local
// machine to an address on it: the loopback interface (127.0.0.0/8, ::1,
// localhost and *.localhost), the unspecified address (0.0.0.0 and ::,
// which reach the local machine too) or a link-local address (the cloud
// metadata service at 169.254.169.254). A remote registry has no business
// there: following would let it make sc talk to services on the machine sc
// runs on and read their answers back as blobs. Redirects between loopback
// hosts, as test registries make, are followed.
//
// go-containerregistry's own clients refuse redirects to private and
// link-local IP literals (not to names such as localhost); sc's direct
// requests (blobs of artifacts, referrers pages) have no such check. The
// guard sits under both, in the transport: a redirected request carries
// the response that caused it, and with it the chain back to the first
// request.
type redirectGuard struct{ inner http.RoundTripper }

func (g redirectGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response != nil {
		from := req
		for from.Response != nil && from.Response.Request != nil {
			from = from.Response.Request
		}
		dest, orig := req.URL.Hostname(), from.URL.Hostname()
		if (onThisMachine(dest) && !onThisMachine(orig)) || (linkLocal(dest) && !strings.EqualFold(dest, orig)) {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, fmt.Errorf("%s redirected to %s, an address on this machine or its link, refused: %w",
				from.URL.Host, req.URL.Host, ErrMalformed)
		}
	}
	return g.inner.RoundTrip(req)
}

// onThisMachine reports whether host is the loopback interface, a name for
// it, or the unspecified address.
func onThisMachine(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, ok := parseIP(host)
	return ok && (ip.IsLoopback() || ip.IsUnspecified())
}

func linkLocal(host string) bool {
	ip, ok := parseIP(host)
	return ok && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast())
}

// parseIP reads an IP literal the way the system resolver may: IPv6 with a
// zone, IPv4-mapped IPv6 as IPv4, and the legacy IPv4 forms inet_aton
// accepts ("127.1", "0x7f.0.0.1", "2130706433").
func parseIP(host string) (netip.Addr, bool) {
	host, _, _ = strings.Cut(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "%")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		bits := 8
		if i == len(parts)-1 {
			bits = 8 * (5 - len(parts))
		}
		n, err := strconv.ParseUint(p, 0, bits)
		if err != nil {
			return netip.Addr{}, false
		}
		if i == len(parts)-1 {
			v = v<<bits | n
		} else {
			v = v<<8 | n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// stripURLs removes the query string, fragment and user information from
// the URLs that err carries (a *url.Error from an http.Client, a
// *transport.Error's request): after a redirect to blob storage they are
// pre-signed URLs whose query is a credential. It returns err.
func stripURLs(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if u, perr := url.Parse(uerr.URL); perr == nil {
			uerr.URL = bareURL(u).String()
		} else {
			uerr.URL = "(unreadable URL)"
		}
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.Request != nil && terr.Request.URL != nil {
		r := *terr.Request
		r.URL = bareURL(terr.Request.URL)
		terr.Request = &r
	}
	return err
}

func bareURL(u *url.URL) *url.URL {
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
}
