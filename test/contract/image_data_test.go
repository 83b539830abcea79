package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imageimport"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/api/glance"
	"github.com/nubo-cloud/nubo/internal/api/keystone"
	"github.com/nubo-cloud/nubo/internal/blob/fsblob"
	"github.com/nubo-cloud/nubo/internal/cloudtest"
	"github.com/nubo-cloud/nubo/internal/image"
)

// imageServer serves Glance over the cloud's store with its own blob dir
// and image config (a storage quota, say), and returns an admin client for it.
func imageServer(t *testing.T, c *cloudtest.Cloud, cfg image.Config) (*gophercloud.ServiceClient, string) {
	t.Helper()
	dir := t.TempDir()
	bs, err := fsblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc := image.New(c.Store, bs, cfg, log)
	mux := http.NewServeMux()
	glance.Register(mux, svc, keystone.Authorize(c.Identity), log)
	srv := httptest.NewServer(apihttp.Outer(log, mux))
	t.Cleanup(func() { srv.Close(); svc.Close(); bs.Close() })
	base := srv.URL + "/image/v2/"
	return &gophercloud.ServiceClient{ProviderClient: c.Provider(t, c.AdminOptions()), Endpoint: base, ResourceBase: base}, dir
}

func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func newQueued(t *testing.T, client *gophercloud.ServiceClient) *images.Image {
	t.Helper()
	im, err := images.Create(context.Background(), client, images.CreateOpts{Name: "q", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestImageUpload_OverQuotaIs413AndLeavesImageQueued(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client, dir := imageServer(t, c, image.Config{StorageQuota: 2 << 20})
	im := newQueued(t, client)
	// Chunked (no Content-Length): the quota stops it while streaming.
	err := imagedata.Upload(ctx, client, im.ID, io.LimitReader(zeros{}, 5<<20)).ExtractErr()
	wantImageStatus(t, err, http.StatusRequestEntityTooLarge)
	got, err := images.Get(ctx, client, im.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != images.ImageStatusQueued {
		t.Fatalf("status = %s, want queued", got.Status)
	}
	if f := dataFiles(t, dir); len(f) != 0 {
		t.Fatalf("bytes kept: %v", f)
	}
	// The whole quota is still there.
	if err := imagedata.Upload(ctx, client, im.ID, bytes.NewReader(make([]byte, 2<<20))).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestImageUpload_CutOffLeavesImageQueuedAndNoBytes(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client, dir := imageServer(t, c, image.Config{})
	im := newQueued(t, client)
	u, _ := http.NewRequest(http.MethodPut, client.ServiceURL("images", im.ID, "file"), nil)
	conn, err := net.Dial("tcp", u.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
		u.URL.Path, u.URL.Host, client.TokenID, 10<<20)
	conn.Write(make([]byte, 3<<20))
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := images.Get(ctx, client, im.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == images.ImageStatusSaving {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %s, want saving while the body streams", got.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn.Close() // the client goes away mid-upload
	for {
		got, _ := images.Get(ctx, client, im.ID).Extract()
		if got.Status == images.ImageStatusQueued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %s after the cut-off, want queued", got.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f := dataFiles(t, dir); len(f) != 0 {
		t.Fatalf("partial bytes kept: %v", f)
	}
}

func TestImageDownload_Range(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := imageClient(t, c, c.AdminOptions())
	im := newQueued(t, client)
	if err := imagedata.Upload(ctx, client, im.ID, bytes.NewReader([]byte("0123456789"))).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rng, body, crange string
		status            int
	}{
		{"bytes=2-5", "2345", "bytes 2-5/10", 206},
		{"bytes=7-", "789", "bytes 7-9/10", 206},
		{"bytes=-2", "89", "bytes 8-9/10", 206},
		{"bytes=20-30", "", "bytes */10", 416},
	} {
		req, _ := http.NewRequest(http.MethodGet, client.ServiceURL("images", im.ID, "file"), nil)
		req.Header.Set("X-Auth-Token", client.TokenID)
		req.Header.Set("Range", tc.rng)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Range") != tc.crange || (tc.status == 206 && string(b) != tc.body) {
			t.Errorf("Range %s: %d %q %q", tc.rng, resp.StatusCode, resp.Header.Get("Content-Range"), b)
		}
	}
}

func waitImageStatus(t *testing.T, client *gophercloud.ServiceClient, id string, want images.ImageStatus) *images.Image {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := images.Get(context.Background(), client, id).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s status %s, want %s", id, got.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestImageImport_GlanceDirectAndWebDownload(t *testing.T) {
	c := cloudtest.New(t)
	ctx := context.Background()
	client := imageClient(t, c, c.AdminOptions())
	info, err := imageimport.Get(ctx, client).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(info.ImportMethods.Value) != 2 {
		t.Fatalf("import methods = %v", info.ImportMethods.Value)
	}
	// glance-direct: stage, then import.
	im := newQueued(t, client)
	if err := imagedata.Stage(ctx, client, im.ID, bytes.NewReader([]byte("staged"))).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitImageStatus(t, client, im.ID, "uploading")
	if err := imageimport.Create(ctx, client, im.ID, imageimport.CreateOpts{Name: imageimport.GlanceDirectMethod}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := waitImageStatus(t, client, im.ID, images.ImageStatusActive); got.SizeBytes != 6 {
		t.Fatalf("size = %d", got.SizeBytes)
	}
	// web-download from a local HTTP server.
	payload := bytes.Repeat([]byte("web"), 100_000)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/disk.img" {
			http.NotFound(w, r)
			return
		}
		w.Write(payload)
	}))
	defer src.Close()
	im2 := newQueued(t, client)
	if err := imageimport.Create(ctx, client, im2.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: src.URL + "/disk.img"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := waitImageStatus(t, client, im2.ID, images.ImageStatusActive); got.SizeBytes != int64(len(payload)) {
		t.Fatalf("web-download size = %d", got.SizeBytes)
	}
	rc, err := imagedata.Download(ctx, client, im2.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(back, payload) {
		t.Fatal("web-download data differs")
	}
	// A URL that fails puts the image back to queued with os_glance_failed_import.
	im3 := newQueued(t, client)
	if err := imageimport.Create(ctx, client, im3.ID, imageimport.CreateOpts{Name: imageimport.WebDownloadMethod, URI: src.URL + "/missing"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := images.Get(ctx, client, im3.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.Properties["os_glance_failed_import"] == "file" {
			if got.Status != images.ImageStatusQueued {
				t.Fatalf("failed import left status %s", got.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import never failed: %s %v", got.Status, got.Properties)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
