package policy

import "testing"

func TestAccessRule_Allows(t *testing.T) {
	tests := []struct {
		name                  string
		rule                  AccessRule
		service, method, path string
		want                  bool
	}{
		{"exact", AccessRule{"compute", "GET", "/v2.1/servers"}, "compute", "GET", "/v2.1/servers", true},
		{"one segment wildcard", AccessRule{"compute", "GET", "/v2.1/servers/*/ips"}, "compute", "GET", "/v2.1/servers/abc/ips", true},
		{"wildcard is one segment only", AccessRule{"compute", "GET", "/v2.1/servers/*"}, "compute", "GET", "/v2.1/servers/abc/ips", false},
		{"double wildcard spans segments", AccessRule{"compute", "GET", "/v2.1/servers/**"}, "compute", "GET", "/v2.1/servers/abc/ips", true},
		{"double wildcard may be empty", AccessRule{"compute", "GET", "/v2.1/**"}, "compute", "GET", "/v2.1", true},
		{"other service", AccessRule{"compute", "GET", "/v2.1/servers"}, "image", "GET", "/v2.1/servers", false},
		{"other method", AccessRule{"compute", "GET", "/v2.1/servers"}, "compute", "POST", "/v2.1/servers", false},
		{"HEAD rides on GET", AccessRule{"compute", "GET", "/v2.1/servers"}, "compute", "HEAD", "/v2.1/servers", true},
		{"trailing slash ignored", AccessRule{"compute", "GET", "/v2.1/servers/"}, "compute", "GET", "/v2.1/servers", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Allows(tt.service, tt.method, tt.path); got != tt.want {
				t.Fatalf("Allows = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCredentials_Roles(t *testing.T) {
	var none *Credentials
	if none.IsAdmin() || none.IsReader() || none.Scoped() {
		t.Fatal("nil credentials must grant nothing")
	}
	member := &Credentials{ProjectID: "p", Roles: []string{"member", "reader"}}
	if member.IsAdmin() || !member.CanWriteProject("p") || member.CanWriteProject("q") || !member.OwnsProject("p") {
		t.Fatalf("member checks wrong: %+v", member)
	}
	sysReader := &Credentials{System: true, Roles: []string{"reader"}}
	if !sysReader.IsReader() || sysReader.IsAdmin() {
		t.Fatal("a system reader reads everything and administers nothing")
	}
}
