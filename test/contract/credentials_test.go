package contract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/credentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

func TestCredential_CRUD(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "amy", "member")
	cr := must(credentials.Create(ctx, admin, credentials.CreateOpts{Type: "totp", Blob: "JBSWY3DPEHPK3PXP", UserID: tn.User.ID}).Extract())(t)
	if cr.ID == "" || cr.Type != "totp" || cr.Blob != "JBSWY3DPEHPK3PXP" || cr.UserID != tn.User.ID {
		t.Fatalf("created credential = %+v", cr)
	}
	got := must(credentials.Get(ctx, admin, cr.ID).Extract())(t)
	if got.Blob != cr.Blob {
		t.Fatalf("got %+v", got)
	}
	up := must(credentials.Update(ctx, admin, cr.ID, credentials.UpdateOpts{Blob: "NEWBLOB"}).Extract())(t)
	if up.Blob != "NEWBLOB" || up.Type != "totp" || up.UserID != tn.User.ID {
		t.Fatalf("updated = %+v", up)
	}
	list := must(credentials.ExtractCredentials(must(credentials.List(admin, credentials.ListOpts{UserID: tn.User.ID}).AllPages(ctx))(t)))(t)
	if len(list) != 1 || list[0].ID != cr.ID {
		t.Fatalf("list = %+v", list)
	}
	ok(t, credentials.Delete(ctx, admin, cr.ID).ExtractErr())
	_, err := credentials.Get(ctx, admin, cr.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}

func TestCredential_EC2IDIsHashOfAccessKey(t *testing.T) {
	_, admin := newCloud(t)
	ctx := context.Background()
	tn := newTenant(t, admin, "ben", "member")
	cr := must(credentials.Create(ctx, admin, credentials.CreateOpts{
		Type: "ec2", Blob: `{"access":"AKIA1","secret":"s3cr3t"}`, UserID: tn.User.ID, ProjectID: tn.Project.ID,
	}).Extract())(t)
	sum := sha256.Sum256([]byte("AKIA1"))
	if cr.ID != hex.EncodeToString(sum[:]) || cr.ProjectID != tn.Project.ID {
		t.Fatalf("ec2 credential = %+v", cr)
	}
	_, err := credentials.Create(ctx, admin, credentials.CreateOpts{Type: "ec2", Blob: `{"access":"AKIA1","secret":"x"}`, UserID: tn.User.ID, ProjectID: tn.Project.ID}).Extract()
	wantStatus(t, err, http.StatusConflict)
}

func TestCredential_OwnersOnly(t *testing.T) {
	c, admin := newCloud(t)
	ctx := context.Background()
	a := newTenant(t, admin, "cleo", "member")
	b := newTenant(t, admin, "dan", "member")
	aCli := a.client(t, c)
	// A user may manage their own credentials...
	mine := must(credentials.Create(ctx, aCli, credentials.CreateOpts{Type: "totp", Blob: "MINE", UserID: a.User.ID}).Extract())(t)
	theirs := must(credentials.Create(ctx, admin, credentials.CreateOpts{Type: "totp", Blob: "THEIRS", UserID: b.User.ID}).Extract())(t)
	list := must(credentials.ExtractCredentials(must(credentials.List(aCli, nil).AllPages(ctx))(t)))(t)
	if len(list) != 1 || list[0].ID != mine.ID {
		t.Fatalf("a user's credential list = %+v, want only their own", list)
	}
	// ...but cannot see or create anyone else's.
	_, err := credentials.Get(ctx, aCli, theirs.ID).Extract()
	if s := statusOf(err); s != http.StatusNotFound && s != http.StatusForbidden {
		t.Fatalf("reading another user's credential: %v, want 403 or 404", err)
	}
	_, err = credentials.Create(ctx, aCli, credentials.CreateOpts{Type: "totp", Blob: "X", UserID: b.User.ID}).Extract()
	wantStatus(t, err, http.StatusForbidden)
	// Deleting the user deletes its credentials.
	ok(t, users.Delete(ctx, admin, b.User.ID).ExtractErr())
	_, err = credentials.Get(ctx, admin, theirs.ID).Extract()
	wantStatus(t, err, http.StatusNotFound)
}
