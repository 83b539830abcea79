package cloud

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

func adminCtx(t *testing.T, c *Cloud, pw string) context.Context {
	t.Helper()
	_, info, err := c.Identity.Authenticate(context.Background(), identity.AuthRequest{
		Methods:  []string{"password"},
		Password: &identity.PasswordAuth{User: identity.UserRef{Name: "admin", DomainName: "Default"}, Password: pw},
		Scope:    identity.Scope{ProjectName: "admin", ProjectDomainName: "Default"},
	})
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	return policy.NewContext(context.Background(), info.Credentials())
}

// TestNew_SecondStartResumes: a restart on the same store loses nothing,
// creates nothing twice, and points the catalog at the new URL.
func TestNew_SecondStartResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nubo.db")
	log := slog.New(slog.DiscardHandler)
	cfg := Config{PublicURL: "http://127.0.0.1:1111", AdminPassword: "first", Identity: identity.Config{BcryptCost: 4}}
	open := func() store.Store {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	c, err := New(context.Background(), st, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx := adminCtx(t, c, "first")
	if _, err := c.Identity.CreateProject(ctx, identity.Project{Name: "kept", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Identity.ListProjects(ctx)
	st.Close()

	st = open()
	defer st.Close()
	cfg.PublicURL, cfg.AdminPassword = "http://127.0.0.1:2222", ""
	c2, err := New(context.Background(), st, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx = adminCtx(t, c2, "first") // an empty password keeps the old one
	after, _ := c2.Identity.ListProjects(ctx)
	if len(after) != len(before) {
		t.Fatalf("projects %d before restart, %d after", len(before), len(after))
	}
	roles, _ := c2.Identity.ListRoles(ctx, "")
	if len(roles) != 4 {
		t.Fatalf("roles after restart = %d, want 4 (admin, member, reader, service)", len(roles))
	}
	cat, err := c2.Identity.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ident *identity.CatalogService
	for i := range cat {
		if cat[i].Type == "identity" {
			ident = &cat[i]
		}
	}
	if len(cat) != len(Services("")) || ident == nil || len(ident.Endpoints) != 3 || ident.Endpoints[0].URL != "http://127.0.0.1:2222/identity" {
		t.Fatalf("catalog after restart = %+v", cat)
	}
}
