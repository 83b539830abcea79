package cloudtest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/nubo-cloud/nubo/internal/cloud"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

// AdminPassword is the bootstrapped admin's password.
const AdminPassword = "cloudtest-admin-secret"

// Cloud is an in-process Nubo.
type Cloud struct {
	*cloud.Cloud
	Store  store.Store
	Server *httptest.Server
	// URL is the base URL (http://127.0.0.1:port).
	URL string
}

// New starts a cloud for the test and stops it at cleanup. Passwords are
// hashed at bcrypt's lowest cost to keep tests quick.
func New(t testing.TB) *Cloud {
	t.Helper()
	return NewWith(t, nil, nil)
}

// NewWith is New with the configuration adjusted by configure (may be nil)
// and log as the cloud's logger (nil discards).
func NewWith(t testing.TB, configure func(*cloud.Config), log *slog.Logger) *Cloud {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nubo.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	cfg := cloud.Config{PublicURL: url, AdminPassword: AdminPassword, DataDir: dir, Identity: identity.DefaultConfig()}
	cfg.Identity.BcryptCost = 4
	if configure != nil {
		configure(&cfg)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := cloud.New(ctx, st, cfg, log)
	if err != nil {
		st.Close()
		t.Fatalf("new cloud: %v", err)
	}
	srv.Config.Handler = c.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &Cloud{Cloud: c, Store: st, Server: srv, URL: url}
}

// AuthURL is the Identity v3 URL clients authenticate against.
func (c *Cloud) AuthURL() string { return c.URL + "/identity/v3" }

// AdminOptions are the admin's password credentials, scoped to the admin project.
func (c *Cloud) AdminOptions() gophercloud.AuthOptions {
	return gophercloud.AuthOptions{
		IdentityEndpoint: c.AuthURL(),
		Username:         "admin",
		Password:         AdminPassword,
		DomainName:       "Default",
		TenantName:       "admin",
	}
}

// Provider authenticates with opts and returns the provider client.
func (c *Cloud) Provider(t testing.TB, opts gophercloud.AuthOptions) *gophercloud.ProviderClient {
	t.Helper()
	p, err := openstack.AuthenticatedClient(context.Background(), opts)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

// IdentityClient returns an Identity v3 client for opts.
func (c *Cloud) IdentityClient(t testing.TB, opts gophercloud.AuthOptions) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewIdentityV3(c.Provider(t, opts), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("identity client: %v", err)
	}
	return sc
}

// Admin returns an Identity v3 client authenticated as the admin.
func (c *Cloud) Admin(t testing.TB) *gophercloud.ServiceClient {
	return c.IdentityClient(t, c.AdminOptions())
}
