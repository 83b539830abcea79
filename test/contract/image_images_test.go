package contract

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/members"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

func TestImageLifecycle_UploadDownloadUpdateDelete(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := imageClient(t, c, c.AdminOptions())

	im, err := images.Create(ctx, client, images.CreateOpts{Name: "cirros", DiskFormat: "qcow2", ContainerFormat: "bare",
		Tags: []string{"boot"}, MinRAM: 64, Properties: map[string]string{"os_distro": "cirros"}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if im.Status != images.ImageStatusQueued || im.Visibility != images.ImageVisibilityShared || im.Properties["os_distro"] != "cirros" {
		t.Fatalf("created: %+v", im)
	}
	// No data yet: Glance answers 204 (gophercloud only expects 200).
	_, err = imagedata.Download(ctx, client, im.ID).Extract()
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) || unexpected.Actual != http.StatusNoContent {
		t.Fatalf("download of a queued image: %v, want 204", err)
	}

	data := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB, streamed chunked
	if err := imagedata.Upload(ctx, client, im.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	got, err := images.Get(ctx, client, im.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if got.Status != images.ImageStatusActive || got.SizeBytes != int64(len(data)) || got.Checksum != hex.EncodeToString(sum[:]) {
		t.Fatalf("after upload: status %s size %d checksum %s", got.Status, got.SizeBytes, got.Checksum)
	}
	dl := imagedata.Download(ctx, client, im.ID)
	rc, err := dl.Extract()
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(back, data) {
		t.Fatal("downloaded data differs")
	}
	if dl.Header.Get("Content-MD5") != got.Checksum {
		t.Fatalf("Content-MD5 = %q", dl.Header.Get("Content-MD5"))
	}
	// Upload again: the image is no longer queued.
	err = imagedata.Upload(ctx, client, im.ID, strings.NewReader("x")).ExtractErr()
	wantImageStatus(t, err, http.StatusConflict)

	upd, err := images.Update(ctx, client, im.ID, images.UpdateOpts{
		images.ReplaceImageName{NewName: "cirros-2"},
		images.UpdateImageProperty{Op: images.AddOp, Name: "hw_disk_bus", Value: "virtio"},
		images.UpdateImageProperty{Op: images.RemoveOp, Name: "os_distro"},
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if upd.Name != "cirros-2" || upd.Properties["hw_disk_bus"] != "virtio" || upd.Properties["os_distro"] != nil {
		t.Fatalf("after update: %+v", upd)
	}
	// Protected images cannot be deleted.
	prot := true
	_, err = images.Update(ctx, client, im.ID, images.UpdateOpts{images.ReplaceImageProtected{NewProtected: prot}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	wantImageStatus(t, images.Delete(ctx, client, im.ID).ExtractErr(), http.StatusForbidden)
	_, err = images.Update(ctx, client, im.ID, images.UpdateOpts{images.ReplaceImageProtected{NewProtected: false}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := images.Delete(ctx, client, im.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	_, err = images.Get(ctx, client, im.ID).Extract()
	wantImageStatus(t, err, http.StatusNotFound)
}

func TestImageCreate_InvalidFormatsAre400(t *testing.T) {
	c := cloudtest.New(t)
	client := imageClient(t, c, c.AdminOptions())
	for _, opts := range []images.CreateOpts{
		{Name: "x", DiskFormat: "wrong", ContainerFormat: "bare"},
		{Name: "x", DiskFormat: "raw", ContainerFormat: "wrong"},
	} {
		_, err := images.Create(context.Background(), client, opts).Extract()
		wantImageStatus(t, err, http.StatusBadRequest)
	}
}

func TestImageList_FiltersSortAndPagination(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := imageClient(t, c, c.AdminOptions())
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		im, err := images.Create(ctx, client, images.CreateOpts{Name: name, DiskFormat: "raw", ContainerFormat: "bare",
			Tags: []string{"t" + name}}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if err := imagedata.Upload(ctx, client, im.ID, bytes.NewReader(make([]byte, 100*(i+1)))).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	list := func(opts images.ListOptsBuilder) []images.Image {
		t.Helper()
		pages, err := images.List(client, opts).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ims, err := images.ExtractImages(pages)
		if err != nil {
			t.Fatal(err)
		}
		return ims
	}
	// Pages of 2 follow "next" through all five.
	all := list(images.ListOpts{Limit: 2, SortKey: "name", SortDir: "asc"})
	var names []string
	for _, im := range all {
		names = append(names, im.Name)
	}
	if strings.Join(names, "") != "abcde" {
		t.Fatalf("paged names = %v", names)
	}
	if got := list(images.ListOpts{Tags: []string{"tc"}}); len(got) != 1 || got[0].Name != "c" {
		t.Fatalf("tag filter = %v", got)
	}
	// gophercloud's BuildQueryString drops int64 fields, so send the query as is.
	if got := list(rawImageQuery("size_min=250&size_max=450")); len(got) != 2 {
		t.Fatalf("size_min/max = %d images, want 2", len(got))
	}
	got := list(images.ListOpts{Sort: "size:desc"})
	if len(got) != 5 || got[0].SizeBytes != 500 || got[4].SizeBytes != 100 {
		t.Fatalf("sort=size:desc gives sizes %d..%d", got[0].SizeBytes, got[len(got)-1].SizeBytes)
	}
	if got := list(images.ListOpts{Name: "d"}); len(got) != 1 {
		t.Fatalf("name filter = %d images", len(got))
	}
}

func TestImageSharing_MembersAndPrivateIs404(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	pa, optsA := imageProject(t, c, "img-a", "member")
	pb, optsB := imageProject(t, c, "img-b", "member")
	a, b := imageClient(t, c, optsA), imageClient(t, c, optsB)

	private := images.ImageVisibilityPrivate
	priv, err := images.Create(ctx, a, images.CreateOpts{Name: "priv", Visibility: &private, DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if priv.Owner != pa {
		t.Fatalf("owner = %s, want %s", priv.Owner, pa)
	}
	_, err = images.Get(ctx, b, priv.ID).Extract()
	wantImageStatus(t, err, http.StatusNotFound)
	// Only admins publicize.
	public := images.ImageVisibilityPublic
	_, err = images.Create(ctx, a, images.CreateOpts{Name: "pub", Visibility: &public, DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	wantImageStatus(t, err, http.StatusForbidden)

	shared, err := images.Create(ctx, a, images.CreateOpts{Name: "shared", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	m, err := members.Create(ctx, a, shared.ID, pb).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "pending" || m.MemberID != pb {
		t.Fatalf("member = %+v", m)
	}
	// The owner cannot accept on the member's behalf.
	_, err = members.Update(ctx, a, shared.ID, pb, members.UpdateOpts{Status: "accepted"}).Extract()
	wantImageStatus(t, err, http.StatusForbidden)
	if _, err := members.Update(ctx, b, shared.ID, pb, members.UpdateOpts{Status: "accepted"}).Extract(); err != nil {
		t.Fatal(err)
	}
	pages, err := images.List(b, images.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ims, _ := images.ExtractImages(pages)
	if len(ims) != 1 || ims[0].ID != shared.ID {
		t.Fatalf("b lists %d images, want the accepted shared one", len(ims))
	}
	mpages, err := members.List(a, shared.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := members.ExtractMembers(mpages)
	if len(ms) != 1 || ms[0].Status != "accepted" {
		t.Fatalf("members = %+v", ms)
	}
	if err := members.Delete(ctx, a, shared.ID, pb).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	_, err = images.Get(ctx, b, shared.ID).Extract()
	wantImageStatus(t, err, http.StatusNotFound)
	// A reader reads but does not create.
	_, optsR := imageProject(t, c, "img-r", "reader")
	_, err = images.Create(ctx, imageClient(t, c, optsR), images.CreateOpts{Name: "r", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	wantImageStatus(t, err, http.StatusForbidden)
}

func TestImageFaults_GlanceBodies(t *testing.T) {
	c := cloudtest.New(t)
	client := imageClient(t, c, c.AdminOptions())
	url := client.ServiceURL("images", "00000000-0000-0000-0000-000000000000")
	for _, tc := range []struct {
		accept, ctype, contains string
	}{
		{"application/json", "application/json", `"code":"404 Not Found"`},
		{"", "text/html; charset=UTF-8", "<h1>404 Not Found</h1>"},
		{"text/plain", "text/plain; charset=UTF-8", "404 Not Found\n\nNo image found"},
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("X-Auth-Token", client.TokenID)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(body), tc.contains) {
			t.Errorf("Accept %q: %d %q %s", tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if tc.ctype == "application/json" {
			var v map[string]string
			if err := json.Unmarshal(body, &v); err != nil || !strings.HasPrefix(v["message"], "No image found with ID") {
				t.Errorf("json fault = %s", body)
			}
		}
	}
}

// rawImageQuery is an images.ListOptsBuilder that sends a query string as is.
type rawImageQuery string

func (q rawImageQuery) ToImageListQuery() (string, error) { return "?" + string(q), nil }
