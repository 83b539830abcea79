package contract

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/remoteconsoles"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/tags"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// serversCloud starts a cloud with its background loops (scheduler and
// fake host) and one active public image; it returns the cloud, an admin
// compute client at mv and the image ID.
func serversCloud(t *testing.T, mv string) (*cloudtest.Cloud, *gophercloud.ServiceClient, string) {
	t.Helper()
	t.Parallel()
	c := cloudtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	img := uploadImage(t, c)
	return c, computeClient(t, c, mv), img
}

func uploadImage(t *testing.T, c *cloudtest.Cloud) string {
	t.Helper()
	ctx := context.Background()
	ic := imageClient(t, c, c.AdminOptions())
	im, err := images.Create(ctx, ic, images.CreateOpts{Name: "cirros", DiskFormat: "raw", ContainerFormat: "bare", Visibility: srvPtr(images.ImageVisibilityPublic)}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if err := imagedata.Upload(ctx, ic, im.ID, strings.NewReader("fake disk bytes")).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	return im.ID
}

func srvPtr[T any](v T) *T { return &v }

// ptr is shared by the contract tests (volume tests use it too).
func ptr[T any](v T) *T { return &v }

// bootServer creates a server with no network and waits for status.
func bootServer(t *testing.T, sc *gophercloud.ServiceClient, img, name string) *servers.Server {
	t.Helper()
	sv, err := servers.Create(context.Background(), sc, servers.CreateOpts{Name: name, ImageRef: img, FlavorRef: "42", Networks: "none"}, nil).Extract()
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if sv.AdminPass == "" {
		t.Fatal("no adminPass in the create response")
	}
	return waitStatus(t, sc, sv.ID, "ACTIVE")
}

func waitStatus(t *testing.T, sc *gophercloud.ServiceClient, id, status string) *servers.Server {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sv, err := servers.Get(context.Background(), sc, id).Extract()
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if sv.Status == status {
			return sv
		}
		if sv.Status == "ERROR" || time.Now().After(deadline) {
			t.Fatalf("server %s is %s (fault %+v), want %s", id, sv.Status, sv.Fault, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitGone(t *testing.T, sc *gophercloud.ServiceClient, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := servers.Get(context.Background(), sc, id).Extract()
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s not gone: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverDetail reads the raw show body, for fields gophercloud drops.
func serverDetail(t *testing.T, sc *gophercloud.ServiceClient, id string) map[string]any {
	t.Helper()
	var body struct {
		Server map[string]any `json:"server"`
	}
	if _, err := sc.Get(context.Background(), sc.ServiceURL("servers", id), &body, nil); err != nil {
		t.Fatal(err)
	}
	return body.Server
}

func TestServers_Lifecycle(t *testing.T) {
	_, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	sv := bootServer(t, sc, img, "web-1")
	d := serverDetail(t, sc, sv.ID)
	for k, want := range map[string]any{"OS-EXT-STS:vm_state": "active", "OS-EXT-STS:power_state": 1, "OS-EXT-STS:task_state": nil, "locked": false} {
		if fmt.Sprint(d[k]) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", k, d[k], want)
		}
	}
	if d["OS-EXT-SRV-ATTR:host"] == nil || d["hostId"] == "" || d["OS-SRV-USG:launched_at"] == nil {
		t.Errorf("host fields missing: %v", d)
	}
	if f, ok := d["flavor"].(map[string]any); !ok || f["original_name"] != "m1.nano" {
		t.Errorf("2.47 flavor view: %v", d["flavor"])
	}
	upd, err := servers.Update(ctx, sc, sv.ID, servers.UpdateOpts{Name: "web-one", AccessIPv4: "10.0.0.9"}).Extract()
	if err != nil || upd.Name != "web-one" || upd.AccessIPv4 != "10.0.0.9" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	pages, err := servers.List(sc, servers.ListOpts{Name: "^web-o"}).AllPages(ctx)
	ok(t, err)
	list, err := servers.ExtractServers(pages)
	if err != nil || len(list) != 1 || list[0].ID != sv.ID {
		t.Fatalf("list by name: %v %v", list, err)
	}
	pages, err = servers.List(sc, servers.ListOpts{Status: "SHUTOFF"}).AllPages(ctx)
	ok(t, err)
	if list, _ := servers.ExtractServers(pages); len(list) != 0 {
		t.Fatalf("status filter: %d servers", len(list))
	}
	ok(t, servers.Delete(ctx, sc, sv.ID).ExtractErr())
	waitGone(t, sc, sv.ID)
	wantStatus(t, servers.Delete(ctx, sc, sv.ID).ExtractErr(), http.StatusNotFound)
}

func TestServers_CreateValidation(t *testing.T) {
	_, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	for name, opts := range map[string]servers.CreateOpts{
		"unknown flavor": {Name: "x", ImageRef: img, FlavorRef: "nope", Networks: "none"},
		"unknown image":  {Name: "x", ImageRef: "6d8a3c62-8d4e-4c56-9b0e-6b1b0a4a0a11", FlavorRef: "42", Networks: "none"},
		"bad user data":  {Name: "x", ImageRef: img, FlavorRef: "42", Networks: "none", UserData: nil, Metadata: map[string]string{"": "x"}},
		"unknown zone":   {Name: "x", ImageRef: img, FlavorRef: "42", Networks: "none", AvailabilityZone: "mars"},
	} {
		_, err := servers.Create(ctx, sc, opts, nil).Extract()
		if statusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: got %v, want 400", name, err)
		}
	}
	// A missing boot volume is 400 (compute_volumes_test.go has the rest).
	_, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "bfv", FlavorRef: "42", Networks: "none",
		BlockDevice: []servers.BlockDevice{{SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume, UUID: "6d8a3c62-8d4e-4c56-9b0e-6b1b0a4a0a11", BootIndex: 0}}}, nil).Extract()
	wantStatus(t, err, http.StatusBadRequest)
}

func TestServers_Actions(t *testing.T) {
	c, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	sv := bootServer(t, sc, img, "act")
	id := sv.ID
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"stop", func() error { return servers.Stop(ctx, sc, id).ExtractErr() }, "SHUTOFF"},
		{"start", func() error { return servers.Start(ctx, sc, id).ExtractErr() }, "ACTIVE"},
		{"reboot soft", func() error {
			return servers.Reboot(ctx, sc, id, servers.RebootOpts{Type: servers.SoftReboot}).ExtractErr()
		}, "ACTIVE"},
		{"pause", func() error { return servers.Pause(ctx, sc, id).ExtractErr() }, "PAUSED"},
		{"unpause", func() error { return servers.Unpause(ctx, sc, id).ExtractErr() }, "ACTIVE"},
		{"suspend", func() error { return servers.Suspend(ctx, sc, id).ExtractErr() }, "SUSPENDED"},
		{"resume", func() error { return servers.Resume(ctx, sc, id).ExtractErr() }, "ACTIVE"},
		{"rescue", func() error { _, err := servers.Rescue(ctx, sc, id, servers.RescueOpts{}).Extract(); return err }, "RESCUE"},
		{"unrescue", func() error { return servers.Unrescue(ctx, sc, id).ExtractErr() }, "ACTIVE"},
		{"resize", func() error { return servers.Resize(ctx, sc, id, servers.ResizeOpts{FlavorRef: "84"}).ExtractErr() }, "VERIFY_RESIZE"},
		{"confirm", func() error { return servers.ConfirmResize(ctx, sc, id).ExtractErr() }, "ACTIVE"},
		{"resize again", func() error { return servers.Resize(ctx, sc, id, servers.ResizeOpts{FlavorRef: "42"}).ExtractErr() }, "VERIFY_RESIZE"},
		{"revert", func() error { return servers.RevertResize(ctx, sc, id).ExtractErr() }, "ACTIVE"},
		{"rebuild", func() error {
			_, err := servers.Rebuild(ctx, sc, id, servers.RebuildOpts{ImageRef: img, Name: "rebuilt"}).Extract()
			return err
		}, "ACTIVE"},
		{"shelve", func() error { return servers.Shelve(ctx, sc, id).ExtractErr() }, "SHELVED_OFFLOADED"},
		{"unshelve", func() error { return servers.Unshelve(ctx, sc, id, servers.UnshelveOpts{}).ExtractErr() }, "ACTIVE"},
		{"reset to error", func() error { return servers.ResetState(ctx, sc, id, servers.StateError).ExtractErr() }, "ERROR"},
		{"reset to active", func() error { return servers.ResetState(ctx, sc, id, servers.StateActive).ExtractErr() }, "ACTIVE"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := waitStatus(t, sc, id, s.want)
		if s.name == "revert" && got.Flavor["original_name"] != "m1.micro" {
			t.Fatalf("revert kept flavor %v", got.Flavor)
		}
	}
	// Wrong states: 409 in Nova's words.
	err := servers.Start(ctx, sc, id).ExtractErr()
	wantStatus(t, err, http.StatusConflict)
	if !strings.Contains(err.Error(), "Cannot 'start' instance "+id+" while it is in vm_state active") {
		t.Fatalf("message: %v", err)
	}
	wantStatus(t, servers.ConfirmResize(ctx, sc, id).ExtractErr(), http.StatusConflict)
	// Lock: the owner's project members are refused, the admin is not.
	ok(t, servers.Lock(ctx, sc, id).ExtractErr())
	if d := serverDetail(t, sc, id); d["locked"] != true {
		t.Fatalf("locked = %v", d["locked"])
	}
	ok(t, servers.Unlock(ctx, sc, id).ExtractErr())
	// Snapshot: a new image of the server, active once the host uploaded it.
	imgID, err := servers.CreateImage(ctx, sc, id, servers.CreateImageOpts{Name: "snap"}).ExtractImageID()
	ok(t, err)
	waitStatus(t, sc, id, "ACTIVE")
	ic := imageClient(t, c, c.AdminOptions())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		im, err := images.Get(ctx, ic, imgID).Extract()
		ok(t, err)
		if im.Status == images.ImageStatusActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot image is %s", im.Status)
		}
	}
	out, err := servers.ShowConsoleOutput(ctx, sc, id, servers.ShowConsoleOutputOpts{Length: 2}).Extract()
	if err != nil || len(strings.Split(out, "\n")) != 2 {
		t.Fatalf("console output %q %v", out, err)
	}
	rc, err := remoteconsoles.Create(ctx, sc, id, remoteconsoles.CreateOpts{Protocol: remoteconsoles.ConsoleProtocolVNC, Type: remoteconsoles.ConsoleTypeNoVNC}).Extract()
	if err != nil || !strings.Contains(rc.URL, "token") {
		t.Fatalf("remote console %+v %v", rc, err)
	}
	pages, err := instanceactions.List(sc, id, nil).AllPages(ctx)
	ok(t, err)
	acts, err := instanceactions.ExtractInstanceActions(pages)
	ok(t, err)
	if len(acts) < len(steps) || acts[len(acts)-1].Action != "create" {
		t.Fatalf("%d actions, oldest %+v", len(acts), acts[len(acts)-1])
	}
	act, err := instanceactions.Get(ctx, sc, id, acts[len(acts)-1].RequestID).Extract()
	if err != nil || act.Events == nil || len(*act.Events) == 0 || (*act.Events)[0].Result != "Success" {
		t.Fatalf("create action %+v %v", act, err)
	}
}

func TestServers_MetadataAndTags(t *testing.T) {
	_, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	sv := bootServer(t, sc, img, "tagged")
	md, err := servers.UpdateMetadata(ctx, sc, sv.ID, servers.MetadataOpts{"a": "1", "b": "2"}).Extract()
	if err != nil || md["a"] != "1" || md["b"] != "2" {
		t.Fatalf("metadata %v %v", md, err)
	}
	ok(t, servers.DeleteMetadatum(ctx, sc, sv.ID, "a").ExtractErr())
	wantStatus(t, servers.DeleteMetadatum(ctx, sc, sv.ID, "a").ExtractErr(), http.StatusNotFound)
	got, err := tags.ReplaceAll(ctx, sc, sv.ID, tags.ReplaceAllOpts{Tags: []string{"x", "y"}}).Extract()
	if err != nil || len(got) != 2 {
		t.Fatalf("tags %v %v", got, err)
	}
	ok(t, tags.Add(ctx, sc, sv.ID, "z").ExtractErr())
	exists, err := tags.Check(ctx, sc, sv.ID, "z").Extract()
	if err != nil || !exists {
		t.Fatalf("check tag %v %v", exists, err)
	}
	pages, err := servers.List(sc, servers.ListOpts{Tags: "x,z"}).AllPages(ctx)
	ok(t, err)
	if list, _ := servers.ExtractServers(pages); len(list) != 1 {
		t.Fatalf("tags filter: %d", len(list))
	}
	pages, err = servers.List(sc, servers.ListOpts{NotTagsAny: "z"}).AllPages(ctx)
	ok(t, err)
	if list, _ := servers.ExtractServers(pages); len(list) != 0 {
		t.Fatalf("not-tags-any filter: %d", len(list))
	}
	ok(t, tags.DeleteAll(ctx, sc, sv.ID).ExtractErr())
}

func TestServers_Pagination(t *testing.T) {
	_, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	_, err := servers.Create(ctx, sc, servers.CreateOpts{Name: "many", ImageRef: img, FlavorRef: "42", Networks: "none", Min: 5, Max: 5}, nil).Extract()
	ok(t, err)
	pages := 0
	seen := map[string]bool{}
	err = servers.List(sc, servers.ListOpts{Limit: 2}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
		pages++
		list, err := servers.ExtractServers(p)
		for _, s := range list {
			seen[s.ID] = true
		}
		return true, err
	})
	ok(t, err)
	if pages != 3 || len(seen) != 5 {
		t.Fatalf("%d pages, %d servers", pages, len(seen))
	}
}

// TestServers_QuotaUnderConcurrency races creates against an instances
// quota of 3: exactly 3 succeed, the rest are 403, none slip through.
func TestServers_QuotaUnderConcurrency(t *testing.T) {
	c, sc, img := serversCloud(t, "2.79")
	ctx := context.Background()
	project, opts := imageProject(t, c, "quota", "member")
	_, err := quotasets.Update(ctx, sc, project, quotasets.UpdateOpts{Instances: srvPtr(3)}).Extract()
	ok(t, err)
	pc, err := openstack.NewComputeV2(c.Provider(t, opts), gophercloud.EndpointOpts{})
	ok(t, err)
	pc.Microversion = "2.79"
	const n = 12
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := servers.Create(ctx, pc, servers.CreateOpts{Name: fmt.Sprintf("q-%d", i), ImageRef: img, FlavorRef: "42", Networks: "none"}, nil).Extract()
			codes <- statusOf(err)
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for code := range codes {
		count[code]++
	}
	if count[0] != 3 || count[http.StatusForbidden] != n-3 {
		t.Fatalf("outcomes %v, want 3 created and %d × 403", count, n-3)
	}
	q, err := quotasets.GetDetail(ctx, sc, project).Extract()
	if err != nil || q.Instances.InUse != 3 {
		t.Fatalf("in use %+v %v", q.Instances, err)
	}
}
