package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nubo-cloud/nubo/internal/driver/configdrive"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

const serverID = "3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b"

func testMetadata(userData []byte) *hostapi.Metadata {
	md, _ := json.Marshal(configdrive.MetaData{
		UUID: serverID, Name: "vm1", Hostname: "vm1", AvailabilityZone: "nova", LaunchIndex: 0,
		PublicKeys: map[string]string{"mykey": "ssh-ed25519 AAAA mykey"},
	})
	return &hostapi.Metadata{
		ServerID:    serverID,
		MetaData:    md,
		NetworkData: json.RawMessage(`{"links":[{"id":"tap1"}],"networks":[],"services":[]}`),
		UserData:    userData,
	}
}

// serve runs the handler with requests coming from remote.
func serve(t *testing.T, h http.Handler, remote, method, path string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, "http://169.254.169.254"+path, nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Result().Header
}

func TestHandler_Paths(t *testing.T) {
	var asked []string
	lookup := func(ctx context.Context, ip string) (*hostapi.Metadata, error) {
		asked = append(asked, ip)
		switch ip {
		case "10.0.0.11":
			return testMetadata([]byte("#!/bin/sh\necho hi\n")), nil
		case "10.0.0.12":
			return testMetadata(nil), nil
		case "10.0.0.66":
			return nil, errors.New("control plane down")
		}
		return nil, fmt.Errorf("port with %s: %w", ip, hostapi.ErrNotFound)
	}
	h := Handler(lookup, nil)
	osVersions := strings.Join(configdrive.Versions, "\n")
	ec2Versions := "1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n2008-09-01\n2009-04-04\nlatest"
	ec2Meta := "ami-launch-index\nami-manifest-path\nblock-device-mapping/\nhostname\ninstance-action\ninstance-id\n" +
		"local-hostname\nlocal-ipv4\nplacement/\npublic-hostname\npublic-keys/"
	for _, tc := range []struct {
		remote, path string
		code         int
		body         string // exact unless prefixed with "~" (contains)
		ctype        string
	}{
		{"10.0.0.11:40000", "/", 200, ec2Versions, "text/plain"},
		{"10.0.0.11:40000", "/openstack", 200, osVersions, "text/plain"},
		{"10.0.0.11:40000", "/openstack/", 200, osVersions, "text/plain"},
		{"10.0.0.11:40000", "/openstack/latest", 200, "meta_data.json\nuser_data\nvendor_data.json\nnetwork_data.json\nvendor_data2.json", "text/plain"},
		{"10.0.0.12:40000", "/openstack/latest/", 200, "meta_data.json\nvendor_data.json\nnetwork_data.json\nvendor_data2.json", "text/plain"},
		{"10.0.0.11:40000", "/openstack/latest/meta_data.json", 200, `~"uuid":"` + serverID + `"`, "application/json"},
		{"10.0.0.11:40000", "/openstack/2012-08-10/meta_data.json", 200, `~"hostname":"vm1"`, "application/json"},
		{"10.0.0.11:40000", "/openstack/2020-10-14/network_data.json", 200, `{"links":[{"id":"tap1"}],"networks":[],"services":[]}`, "application/json"},
		{"10.0.0.11:40000", "/openstack/latest/vendor_data.json", 200, `{}`, "application/json"},
		{"10.0.0.11:40000", "/openstack/latest/vendor_data2.json", 200, `{}`, "application/json"},
		{"10.0.0.11:40000", "/openstack/latest/user_data", 200, "#!/bin/sh\necho hi\n", "text/plain"},
		{"10.0.0.12:40000", "/openstack/latest/user_data", 404, "", ""},
		{"10.0.0.11:40000", "/openstack/1999-01-01/meta_data.json", 404, "", ""},
		{"10.0.0.11:40000", "/openstack/latest/password", 404, "", ""},
		{"10.0.0.11:40000", "/openstack/latest/meta_data.json/x", 404, "", ""},
		{"10.0.0.11:40000", "/latest", 200, "meta-data/\nuser-data", "text/plain"},
		{"10.0.0.12:40000", "/latest/", 200, "meta-data/", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/", 200, ec2Meta, "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data", 200, ec2Meta, "text/plain"},
		{"10.0.0.11:40000", "/2009-04-04/meta-data/", 200, ec2Meta, "text/plain"},
		{"10.0.0.11:40000", "/ec2/latest/meta-data/hostname", 200, "vm1", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/instance-id", 200, "i-3f2a9c1e", "text/plain"},
		{"10.0.0.11:40000", "/2009-04-04/meta-data/instance-id", 200, "i-3f2a9c1e", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/local-hostname", 200, "vm1", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/local-ipv4", 200, "10.0.0.11", "text/plain"},
		{"10.0.0.12:40000", "/latest/meta-data/local-ipv4", 200, "10.0.0.12", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/placement/", 200, "availability-zone", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/placement/availability-zone", 200, "nova", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/public-keys/", 200, "0=mykey", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/public-keys/0/", 200, "openssh-key", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/public-keys/0/openssh-key", 200, "ssh-ed25519 AAAA mykey", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/block-device-mapping/root", 200, "/dev/vda", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/ami-launch-index", 200, "0", "text/plain"},
		{"10.0.0.11:40000", "/latest/meta-data/nope", 404, "", ""},
		{"10.0.0.11:40000", "/latest/meta-data/hostname/x", 404, "", ""},
		{"10.0.0.11:40000", "/latest/user-data", 200, "#!/bin/sh\necho hi\n", "text/plain"},
		{"10.0.0.11:40000", "/2009-04-04/user-data", 200, "#!/bin/sh\necho hi\n", "text/plain"},
		{"10.0.0.12:40000", "/latest/user-data", 404, "", ""},
		{"10.0.0.11:40000", "/2031-01-01/meta-data/", 404, "", ""},
		{"10.0.0.11:40000", "/latest/../openstack", 200, osVersions, "text/plain"},
		{"10.0.0.99:40000", "/openstack/latest/meta_data.json", 404, "", ""},
		{"10.0.0.66:40000", "/openstack/latest/meta_data.json", 500, "", ""},
		{"[::ffff:10.0.0.11]:40000", "/latest/meta-data/hostname", 200, "vm1", "text/plain"},
	} {
		code, body, hdr := serve(t, h, tc.remote, http.MethodGet, tc.path)
		if code != tc.code {
			t.Errorf("GET %s from %s: status %d, want %d (%q)", tc.path, tc.remote, code, tc.code, body)
			continue
		}
		if code != 200 {
			continue
		}
		if want, ok := strings.CutPrefix(tc.body, "~"); ok {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: body %q does not contain %q", tc.path, body, want)
			}
		} else if body != tc.body {
			t.Errorf("GET %s: body %q, want %q", tc.path, body, tc.body)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.ctype)
		}
	}
	if asked[0] != "10.0.0.11" {
		t.Errorf("lookup got %q, want the bare source address", asked[0])
	}
}

// TestHandler_EC2TreeIsConsistent walks the EC2 tree the way cloud-init's
// crawler does: every listed entry must be fetchable.
func TestHandler_EC2TreeIsConsistent(t *testing.T) {
	h := Handler(func(context.Context, string) (*hostapi.Metadata, error) { return testMetadata([]byte("x")), nil }, nil)
	var walk func(p string)
	seen := 0
	walk = func(p string) {
		code, body, _ := serve(t, h, "10.0.0.11:1", http.MethodGet, p)
		if code != 200 {
			t.Fatalf("GET %s: %d", p, code)
		}
		seen++
		if !strings.HasSuffix(p, "/") {
			return
		}
		for _, e := range strings.Split(body, "\n") {
			if k, _, ok := strings.Cut(e, "="); ok {
				e = k + "/"
			}
			walk(p + e)
		}
	}
	walk("/latest/meta-data/")
	if seen < 14 {
		t.Errorf("walked only %d paths", seen)
	}
}

func TestHandler_MethodsAndNullDocuments(t *testing.T) {
	h := Handler(func(context.Context, string) (*hostapi.Metadata, error) {
		return &hostapi.Metadata{ServerID: serverID}, nil
	}, nil)
	if code, _, hdr := serve(t, h, "10.0.0.11:1", http.MethodPost, "/openstack/latest/meta_data.json"); code != 405 || hdr.Get("Allow") == "" {
		t.Errorf("POST: %d, Allow %q", code, hdr.Get("Allow"))
	}
	if code, body, _ := serve(t, h, "10.0.0.11:1", http.MethodHead, "/openstack/latest/meta_data.json"); code != 200 || body != "" {
		t.Errorf("HEAD: %d %q", code, body)
	}
	for path, want := range map[string]string{
		"/openstack/latest/meta_data.json":    `{"uuid":"` + serverID + `"}`,
		"/openstack/latest/network_data.json": `{"links": [], "networks": [], "services": []}`,
		"/openstack/latest/vendor_data.json":  `{}`,
		"/latest/meta-data/instance-id":       "i-3f2a9c1e",
	} {
		if code, body, _ := serve(t, h, "10.0.0.11:1", http.MethodGet, path); code != 200 || body != want {
			t.Errorf("GET %s: %d %q, want %q", path, code, body, want)
		}
	}
	if code, _, _ := serve(t, h, "not-an-address", http.MethodGet, "/"); code != 400 {
		t.Errorf("request without a source address: %d", code)
	}
}

// TestHandler_RealServer checks the handler behind a real listener (the
// source address comes from the TCP connection).
func TestHandler_RealServer(t *testing.T) {
	srv := httptest.NewServer(Handler(func(_ context.Context, ip string) (*hostapi.Metadata, error) {
		if ip != "127.0.0.1" {
			return nil, hostapi.ErrNotFound
		}
		return testMetadata(nil), nil
	}, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openstack/latest/meta_data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md configdrive.MetaData
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil || md.UUID != serverID {
		t.Fatalf("meta_data.json: %+v, %v", md, err)
	}
}

func TestInstanceID(t *testing.T) {
	for in, want := range map[string]string{serverID: "i-3f2a9c1e", "AB": "i-000000ab", "": "i-00000000"} {
		if got := InstanceID(in); got != want {
			t.Errorf("InstanceID(%q) = %q, want %q", in, got, want)
		}
	}
}
