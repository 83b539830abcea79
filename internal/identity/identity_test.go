package identity

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T) (*Service, *clock, context.Context) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(st, Config{TokenTTL: time.Hour, BcryptCost: 4, CacheTTL: time.Minute}, slog.New(slog.DiscardHandler))
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.SetClock(c.now)
	if err := s.Bootstrap(ctx, BootstrapConfig{AdminPassword: "adminpw"}); err != nil {
		t.Fatal(err)
	}
	secret, info, err := s.Authenticate(ctx, AuthRequest{Methods: []string{"password"},
		Password: &PasswordAuth{User: UserRef{Name: "admin", DomainID: DefaultDomainID}, Password: "adminpw"},
		Scope:    Scope{ProjectName: "admin", ProjectDomainID: DefaultDomainID}})
	if err != nil {
		t.Fatal(err)
	}
	_ = secret
	return s, c, policy.NewContext(ctx, info.Credentials())
}

func password(name, pw string, project string) AuthRequest {
	return AuthRequest{Methods: []string{"password"},
		Password: &PasswordAuth{User: UserRef{Name: name, DomainID: DefaultDomainID}, Password: pw},
		Scope:    Scope{ProjectID: project}}
}

// memberUser creates a user with the member role on a new project.
func memberUser(t *testing.T, s *Service, admin context.Context, name string) (*User, *Project) {
	t.Helper()
	p, err := s.CreateProject(admin, Project{Name: name + "-project", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	pw := "pw-" + name
	u, err := s.CreateUser(admin, User{Name: name, Enabled: true}, &pw)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := s.ListRoles(admin, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Name == "member" {
			if err := s.Grant(admin, Assignment{ActorType: ActorUser, ActorID: u.ID, TargetType: TargetProject, TargetID: p.ID, RoleID: r.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return u, p
}

func TestToken_ExpiresAfterTTL(t *testing.T) {
	s, c, admin := newService(t)
	u, p := memberUser(t, s, admin, "alice")
	secret, info, err := s.Authenticate(admin, password(u.Name, "pw-alice", p.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got := roleNames(info.Roles); got != "member,reader" {
		t.Fatalf("roles = %s, want member,reader (implied)", got)
	}
	if _, err := s.ValidateToken(admin, HashToken(secret), false); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	c.add(time.Hour)
	if _, err := s.ValidateToken(admin, HashToken(secret), false); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("expired token: err = %v, want ErrTokenInvalid", err)
	}
	if _, err := s.ValidateToken(admin, HashToken(secret), true); err != nil {
		t.Fatalf("expired token with allow_expired: %v", err)
	}
	n, err := s.PurgeExpired(admin)
	if err != nil || n == 0 {
		t.Fatalf("purge: n=%d err=%v", n, err)
	}
	if _, err := s.ValidateToken(admin, HashToken(secret), true); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("purged token: err = %v", err)
	}
}

func roleNames(rs []Role) string {
	out := ""
	for i, r := range rs {
		if i > 0 {
			out += ","
		}
		out += r.Name
	}
	return out
}

func TestToken_RevokedByUserAndProjectChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, s *Service, admin context.Context, u *User, p *Project)
	}{
		{"password change", func(t *testing.T, s *Service, admin context.Context, u *User, p *Project) {
			if err := s.ChangePassword(admin, u.ID, "pw-"+u.Name, "new-password"); err != nil {
				t.Fatal(err)
			}
		}},
		{"user disabled", func(t *testing.T, s *Service, admin context.Context, u *User, p *Project) {
			if _, err := s.UpdateUser(admin, u.ID, nil, func(u *User) error { u.Enabled = false; return nil }); err != nil {
				t.Fatal(err)
			}
		}},
		{"user deleted", func(t *testing.T, s *Service, admin context.Context, u *User, p *Project) {
			if err := s.DeleteUser(admin, u.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"project disabled", func(t *testing.T, s *Service, admin context.Context, u *User, p *Project) {
			if _, err := s.UpdateProject(admin, p.ID, func(p *Project) error { p.Enabled = false; return nil }); err != nil {
				t.Fatal(err)
			}
		}},
		{"project deleted", func(t *testing.T, s *Service, admin context.Context, u *User, p *Project) {
			if err := s.DeleteProject(admin, p.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"role revoked", func(t *testing.T, s *Service, admin context.Context, u *User, p *Project) {
			roles, _ := s.ListGrants(admin, Assignment{ActorType: ActorUser, ActorID: u.ID, TargetType: TargetProject, TargetID: p.ID})
			for _, r := range roles {
				if err := s.Revoke(admin, Assignment{ActorType: ActorUser, ActorID: u.ID, TargetType: TargetProject, TargetID: p.ID, RoleID: r.ID}); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"domain disabled", func(t *testing.T, s *Service, admin context.Context, u *User, p *Project) {
			if _, err := s.UpdateDomain(admin, DefaultDomainID, func(d *Domain) error { d.Enabled = false; return nil }); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c, admin := newService(t)
			u, p := memberUser(t, s, admin, "bob")
			secret, _, err := s.Authenticate(admin, password(u.Name, "pw-bob", p.ID))
			if err != nil {
				t.Fatal(err)
			}
			// Validate once so the result is cached: revocation must beat the cache.
			if _, err := s.ValidateToken(admin, HashToken(secret), false); err != nil {
				t.Fatal(err)
			}
			c.add(time.Millisecond)
			tt.change(t, s, admin, u, p)
			if _, err := s.ValidateToken(admin, HashToken(secret), false); !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("after %s: err = %v, want ErrTokenInvalid", tt.name, err)
			}
		})
	}
}

func TestChangePassword_WrongOriginalIsUnauthorized(t *testing.T) {
	s, _, admin := newService(t)
	u, p := memberUser(t, s, admin, "carol")
	err := s.ChangePassword(admin, u.ID, "not-it", "new-password")
	if !fault.Is(err, fault.Unauthorized) {
		t.Fatalf("err = %v, want Unauthorized", err)
	}
	if _, _, err := s.Authenticate(admin, password(u.Name, "pw-carol", p.ID)); err != nil {
		t.Fatalf("old password must still work: %v", err)
	}
}

func TestAuthenticate_BadCredentialsAreUnauthorized(t *testing.T) {
	s, _, admin := newService(t)
	u, p := memberUser(t, s, admin, "dave")
	other, err := s.CreateProject(admin, Project{Name: "not-daves", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  AuthRequest
	}{
		{"wrong password", password(u.Name, "nope", p.ID)},
		{"unknown user", password("nobody", "pw-dave", p.ID)},
		{"project without a role", password(u.Name, "pw-dave", other.ID)},
		{"unknown project", password(u.Name, "pw-dave", "0123456789abcdef0123456789abcdef")},
		{"unknown method", AuthRequest{Methods: []string{"totp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.Authenticate(admin, tt.req); !fault.Is(err, fault.Unauthorized) {
				t.Fatalf("err = %v, want Unauthorized", err)
			}
		})
	}
}

func TestAppCredential_RolesAreASubset(t *testing.T) {
	s, _, admin := newService(t)
	u, p := memberUser(t, s, admin, "erin")
	_, info, err := s.Authenticate(admin, password(u.Name, "pw-erin", p.ID))
	if err != nil {
		t.Fatal(err)
	}
	userCtx := policy.NewContext(context.Background(), info.Credentials())
	ac, secret, err := s.CreateAppCredential(userCtx, u.ID, NewAppCredential{Name: "ci", RoleNames: []string{"reader"}})
	if err != nil {
		t.Fatal(err)
	}
	_, acInfo, err := s.Authenticate(admin, AuthRequest{Methods: []string{"application_credential"}, AppCred: &AppCredAuth{ID: ac.ID, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	if got := roleNames(acInfo.Roles); got != "reader" {
		t.Fatalf("app cred token roles = %s, want reader", got)
	}
	if acInfo.Project == nil || acInfo.Project.ID != p.ID {
		t.Fatalf("app cred token project = %+v, want %s", acInfo.Project, p.ID)
	}
	if _, _, err := s.CreateAppCredential(userCtx, u.ID, NewAppCredential{Name: "too-much", RoleNames: []string{"admin"}}); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("asking for a role the user lacks: err = %v, want Forbidden", err)
	}
	if _, _, err := s.Authenticate(admin, AuthRequest{Methods: []string{"application_credential"}, AppCred: &AppCredAuth{ID: ac.ID, Secret: "wrong"}}); !fault.Is(err, fault.Unauthorized) {
		t.Fatalf("wrong secret: err = %v, want Unauthorized", err)
	}
}

func TestPolicy_MemberCannotAdminister(t *testing.T) {
	s, _, admin := newService(t)
	u, p := memberUser(t, s, admin, "frank")
	_, info, err := s.Authenticate(admin, password(u.Name, "pw-frank", p.ID))
	if err != nil {
		t.Fatal(err)
	}
	member := policy.NewContext(context.Background(), info.Credentials())
	pw := "x"
	if _, err := s.CreateUser(member, User{Name: "mallory", Enabled: true}, &pw); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("member creating a user: err = %v, want Forbidden", err)
	}
	if _, err := s.ListUsers(member, ""); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("member listing users: err = %v, want Forbidden", err)
	}
	if got, err := s.GetUser(member, u.ID); err != nil || got.ID != u.ID {
		t.Fatalf("member reading itself: %v", err)
	}
	if _, err := s.GetProject(member, p.ID); err != nil {
		t.Fatalf("member reading its project: %v", err)
	}
}

func TestCreateUser_DuplicateNameConflictsAndChangesNothing(t *testing.T) {
	s, _, admin := newService(t)
	pw := "pw"
	if _, err := s.CreateUser(admin, User{Name: "gina", Enabled: true}, &pw); err != nil {
		t.Fatal(err)
	}
	before, _ := s.ListUsers(admin, "")
	if _, err := s.CreateUser(admin, User{Name: "gina", Enabled: true}, &pw); !fault.Is(err, fault.Conflict) {
		t.Fatalf("duplicate: err = %v, want Conflict", err)
	}
	after, _ := s.ListUsers(admin, "")
	if len(before) != len(after) {
		t.Fatalf("users %d -> %d after a rejected create", len(before), len(after))
	}
}

func TestLockout_WrongPasswordsLockThenExpire(t *testing.T) {
	s, c, admin := newService(t)
	s.cfg.LockoutFailureAttempts, s.cfg.LockoutDuration = 2, time.Minute
	u, p := memberUser(t, s, admin, "hank")
	for i := 0; i < 2; i++ {
		if _, _, err := s.Authenticate(admin, password(u.Name, "wrong", p.ID)); !fault.Is(err, fault.Unauthorized) {
			t.Fatalf("wrong password %d: err = %v", i, err)
		}
	}
	if _, _, err := s.Authenticate(admin, password(u.Name, "pw-hank", p.ID)); !fault.Is(err, fault.Unauthorized) {
		t.Fatalf("right password while locked out: err = %v, want Unauthorized", err)
	}
	c.add(time.Minute)
	if _, _, err := s.Authenticate(admin, password(u.Name, "pw-hank", p.ID)); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestPasswordHistory_SelfServiceMayNotReuse(t *testing.T) {
	s, _, admin := newService(t)
	s.cfg.UniqueLastPasswordCount = 2
	u, _ := memberUser(t, s, admin, "iris")
	if err := s.ChangePassword(admin, u.ID, "pw-iris", "second"); err != nil {
		t.Fatal(err)
	}
	for _, reuse := range []string{"second", "pw-iris"} {
		if err := s.ChangePassword(admin, u.ID, "second", reuse); !fault.Is(err, fault.BadRequest) {
			t.Fatalf("reusing %q: err = %v, want BadRequest", reuse, err)
		}
	}
	if err := s.ChangePassword(admin, u.ID, "second", "third"); err != nil {
		t.Fatalf("a new password: %v", err)
	}
	// The admin reset route does not enforce history (as Keystone).
	pw := "third"
	if _, err := s.UpdateUser(admin, u.ID, &pw, func(*User) error { return nil }); err != nil {
		t.Fatalf("admin reset to the same password: %v", err)
	}
}
