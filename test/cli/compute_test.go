//go:build cli

package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// waitTimeout bounds every poll for an asynchronous status (the fake host
// and the file volume backend settle in well under a second).
const waitTimeout = 90 * time.Second

// TestOpenStackCLI_Compute drives Nova through the openstack CLI: flavors, key
// pairs, zones, aggregates, server groups, quotas and limits, and a server's
// whole life on the simulated host (issue 5).
func TestOpenStackCLI_Compute(t *testing.T) {
	t.Parallel()
	admin, projectID := newAdminClient(t)
	sfx := randomHex(t, 4)
	host := computeHost(t, admin)
	img := uploadImage(t, admin, "cli-img-"+sfx)
	img2 := uploadImage(t, admin, "cli-img2-"+sfx)
	netName, netID := tenantNetwork(t, admin, "cli-net-"+sfx, "10.91.0.0/24")
	var p object
	admin.json(t, &p, "project", "create", "--domain", "Default", "cli-compute-"+sfx)
	otherProject := p.str("id")

	t.Run("flavor create, set, unset, show, list and delete", func(t *testing.T) {
		name, private := "cli-flavor-"+sfx, "cli-private-"+sfx
		var f object
		admin.json(t, &f, "flavor", "create", "--ram", "256", "--disk", "2", "--vcpus", "2",
			"--property", "hw:cpu_policy=shared", "--description", "made by test/cli", name)
		fid := f.str("id")
		if fid == "" || f.num("ram") != 256 || f.num("disk") != 2 || f.num("vcpus") != 2 || f["os-flavor-access:is_public"] != true {
			t.Fatalf("flavor create = %v; want a public flavor with 256 MB, 2 GB, 2 vCPUs", f)
		}
		admin.ok(t, "flavor", "set", "--property", "quota:disk_read_bytes_sec=1000", fid)
		admin.ok(t, "flavor", "unset", "--property", "hw:cpu_policy", fid)
		admin.json(t, &f, "flavor", "show", name)
		if props := f.obj("properties"); f.str("id") != fid || props["quota:disk_read_bytes_sec"] != "1000" ||
			props["hw:cpu_policy"] != nil || f.str("description") != "made by test/cli" {
			t.Errorf("flavor show after set/unset = %v; want only the property quota:disk_read_bytes_sec=1000 and the description", f)
		}

		// A private flavor another project may use: absent from the default
		// (public) list, present with --all, and its access list names the project.
		var pf object
		admin.json(t, &pf, "flavor", "create", "--private", "--project", otherProject,
			"--ram", "128", "--disk", "1", "--vcpus", "1", private)
		pid := pf.str("id")
		if pid == "" || pf["os-flavor-access:is_public"] != false {
			t.Fatalf("flavor create --private = %v", pf)
		}
		admin.json(t, &pf, "flavor", "show", pid)
		if ids := pf.strs("access_project_ids"); !slices.Equal(ids, []string{otherProject}) {
			t.Errorf("flavor show %s: access_project_ids = %v, want [%s]", private, pf["access_project_ids"], otherProject)
		}
		var rows []object
		admin.json(t, &rows, "flavor", "list")
		if findRow(rows, "ID", fid) == nil || findRow(rows, "ID", pid) != nil {
			t.Errorf("flavor list = %v; want %s and not the private %s", rows, name, private)
		}
		admin.json(t, &rows, "flavor", "list", "--all")
		if r := findRow(rows, "ID", pid); r == nil || r["Is Public"] != false {
			t.Errorf("flavor list --all = %v; want the private %s", rows, private)
		}

		admin.ok(t, "flavor", "delete", fid, pid)
		admin.json(t, &rows, "flavor", "list", "--all")
		if findRow(rows, "ID", fid) != nil || findRow(rows, "ID", pid) != nil {
			t.Errorf("flavor list --all after delete still has %s or %s: %v", fid, pid, rows)
		}
	})

	t.Run("keypair create, import, list, show and delete", func(t *testing.T) {
		gen, imported := "cli-kp-gen-"+sfx, "cli-kp-imp-"+sfx
		privPath := filepath.Join(t.TempDir(), "id")
		var kp object
		admin.json(t, &kp, "keypair", "create", "--private-key", privPath, gen)
		priv, err := os.ReadFile(privPath)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := ssh.ParsePrivateKey(priv)
		if err != nil {
			t.Fatalf("keypair create wrote a private key ssh cannot parse: %v", err)
		}
		if kp.str("name") != gen || kp.str("fingerprint") != strings.TrimPrefix(ssh.FingerprintLegacyMD5(signer.PublicKey()), "MD5:") {
			t.Errorf("keypair create = %v; want name %s and the MD5 fingerprint of the key it wrote (%s)",
				kp, gen, ssh.FingerprintLegacyMD5(signer.PublicKey()))
		}

		edPub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ssh.NewPublicKey(edPub)
		if err != nil {
			t.Fatal(err)
		}
		pubPath := filepath.Join(t.TempDir(), "id.pub")
		if err := os.WriteFile(pubPath, ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
			t.Fatal(err)
		}
		admin.json(t, &kp, "keypair", "create", "--public-key", pubPath, imported)
		if kp.str("fingerprint") != strings.TrimPrefix(ssh.FingerprintLegacyMD5(pub), "MD5:") {
			t.Errorf("keypair create --public-key = %v; want fingerprint %s", kp, ssh.FingerprintLegacyMD5(pub))
		}
		var rows []object
		admin.json(t, &rows, "keypair", "list")
		if findRow(rows, "Name", gen) == nil || findRow(rows, "Name", imported) == nil {
			t.Errorf("keypair list = %v; want %s and %s", rows, gen, imported)
		}
		if out := admin.ok(t, "keypair", "show", "--public-key", imported); strings.TrimSpace(out) != strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) {
			t.Errorf("keypair show --public-key = %q, want the imported key %q", out, ssh.MarshalAuthorizedKey(pub))
		}
		admin.ok(t, "keypair", "delete", gen)
		admin.json(t, &rows, "keypair", "list")
		if findRow(rows, "Name", gen) != nil {
			t.Errorf("keypair list after delete still has %s: %v", gen, rows)
		}
	})

	t.Run("availability zone list shows the host's zone and its services", func(t *testing.T) {
		var rows []object
		admin.json(t, &rows, "availability", "zone", "list", "--long")
		var compute, network bool
		for _, r := range rows {
			if r.str("Zone Name") != "nova" || r.str("Zone Status") != "available" {
				continue
			}
			compute = compute || (r.str("Service Name") == "nova-compute" && r.str("Host Name") == host &&
				strings.HasPrefix(r.str("Service Status"), "enabled :-)"))
			network = network || r.str("Zone Resource") == "network"
		}
		if !compute || !network {
			t.Errorf("availability zone list --long = %v; want zone nova with nova-compute on %s (enabled, up) and a network zone", rows, host)
		}
	})

	t.Run("aggregate create, add host, set, show, remove host and delete", func(t *testing.T) {
		name, zone := "cli-agg-"+sfx, "cli-az-"+sfx
		var a object
		admin.json(t, &a, "aggregate", "create", "--zone", zone, "--property", "ssd=true", name)
		if a.str("name") != name || a.str("availability_zone") != zone {
			t.Fatalf("aggregate create = %v; want name %s in zone %s", a, name, zone)
		}
		admin.json(t, &a, "aggregate", "add", "host", name, host)
		if !slices.Contains(a.strs("hosts"), host) {
			t.Errorf("aggregate add host = %v; want hosts [%s]", a, host)
		}
		admin.ok(t, "aggregate", "set", "--property", "gpu=none", name)
		admin.json(t, &a, "aggregate", "show", name)
		if props := a.obj("properties"); !slices.Equal(a.strs("hosts"), []string{host}) || a.str("availability_zone") != zone ||
			props["ssd"] != "true" || props["gpu"] != "none" {
			t.Errorf("aggregate show = %v; want host %s, zone %s, properties ssd=true and gpu=none", a, host, zone)
		}
		// The host is now in the aggregate's zone.
		var zones []object
		admin.json(t, &zones, "availability", "zone", "list", "--compute")
		if findRow(zones, "Zone Name", zone) == nil || findRow(zones, "Zone Name", "nova") != nil {
			t.Errorf("availability zone list --compute = %v; want %s (the only host moved there) and no nova", zones, zone)
		}
		admin.json(t, &a, "aggregate", "remove", "host", name, host)
		if len(a.strs("hosts")) != 0 {
			t.Errorf("aggregate remove host = %v; want no hosts", a)
		}
		admin.ok(t, "aggregate", "delete", name)
		var rows []object
		admin.json(t, &rows, "aggregate", "list")
		if findRow(rows, "Name", name) != nil {
			t.Errorf("aggregate list after delete still has %s: %v", name, rows)
		}
	})

	var groupID string
	t.Run("server group create, list and show", func(t *testing.T) {
		name := "cli-group-" + sfx
		var g object
		admin.json(t, &g, "server", "group", "create", "--policy", "anti-affinity", name)
		groupID = g.str("id")
		if groupID == "" || g.str("policy") != "anti-affinity" || len(g.strs("members")) != 0 {
			t.Fatalf("server group create = %v; want an empty anti-affinity group", g)
		}
		var rows []object
		admin.json(t, &rows, "server", "group", "list")
		if r := findRow(rows, "ID", groupID); r == nil || r.str("Name") != name || r.str("Policy") != "anti-affinity" {
			t.Errorf("server group list = %v; want %s", rows, name)
		}
	})

	// One server lives through the lifecycle subtests; each needs the one before.
	var serverID string
	serverName := "cli-server-" + sfx
	keyName := "cli-kp-imp-" + sfx
	t.Run("server create --wait boots an ACTIVE server on the host", func(t *testing.T) {
		need(t, groupID)
		var s object
		admin.json(t, &s, "server", "create", "--wait", "--flavor", "m1.nano", "--image", img,
			"--nic", "net-id="+netID, "--key-name", keyName, "--hint", "group="+groupID,
			"--property", "role=cli", serverName)
		serverID = s.str("id")
		ips := s.obj("addresses")[netName]
		if serverID == "" || s.str("status") != "ACTIVE" || s.num("OS-EXT-STS:power_state") != 1 ||
			s.str("OS-EXT-SRV-ATTR:host") != host || s.str("key_name") != keyName ||
			!strings.HasPrefix(s.str("flavor"), "m1.nano") || !strings.Contains(s.str("image"), img) ||
			!strings.Contains(fmt.Sprint(ips), "10.91.0.") || s.obj("properties")["role"] != "cli" {
			t.Fatalf("server create --wait = %v; want ACTIVE, running on %s, key %s, m1.nano, image %s, an address on %s, property role=cli",
				s, host, keyName, img, netName)
		}
		var rows []object
		admin.json(t, &rows, "server", "list")
		if r := findRow(rows, "ID", serverID); r == nil || r.str("Status") != "ACTIVE" || r.str("Name") != serverName {
			t.Errorf("server list = %v; want %s ACTIVE", rows, serverName)
		}
		var g object
		admin.json(t, &g, "server", "group", "show", groupID)
		if !slices.Equal(g.strs("members"), []string{serverID}) {
			t.Errorf("server group show = %v; want member %s", g, serverID)
		}
		var ports []object
		admin.json(t, &ports, "port", "list", "--server", serverID)
		if len(ports) != 1 || !strings.Contains(fmt.Sprint(ports[0]["Fixed IP Addresses"]), "10.91.0.") {
			t.Errorf("port list --server = %v; want one port on %s", ports, netName)
		}
	})

	t.Run("server stop and start", func(t *testing.T) {
		need(t, serverID)
		admin.ok(t, "server", "stop", serverID)
		s := waitStatus(t, admin, "server", serverID, "SHUTOFF")
		if s.num("OS-EXT-STS:power_state") != 4 {
			t.Errorf("server after stop = %v; want power_state 4 (shutdown)", s)
		}
		admin.ok(t, "server", "start", serverID)
		s = waitStatus(t, admin, "server", serverID, "ACTIVE")
		if s.num("OS-EXT-STS:power_state") != 1 {
			t.Errorf("server after start = %v; want power_state 1 (running)", s)
		}
	})

	t.Run("server reboot --wait, soft and hard", func(t *testing.T) {
		need(t, serverID)
		admin.ok(t, "server", "reboot", "--wait", serverID)
		admin.ok(t, "server", "reboot", "--hard", "--wait", serverID)
		var s object
		admin.json(t, &s, "server", "show", serverID)
		if s.str("status") != "ACTIVE" || s.num("OS-EXT-STS:power_state") != 1 || s["OS-EXT-STS:task_state"] != nil {
			t.Errorf("server after reboots = %v; want ACTIVE, running, no task", s)
		}
	})

	t.Run("server resize --wait, then resize confirm, --confirm and revert", func(t *testing.T) {
		need(t, serverID)
		resize := func(flavor string) {
			t.Helper()
			admin.ok(t, "server", "resize", "--flavor", flavor, "--wait", serverID)
			var s object
			admin.json(t, &s, "server", "show", serverID)
			if s.str("status") != "VERIFY_RESIZE" || !strings.HasPrefix(s.str("flavor"), flavor+" ") {
				t.Fatalf("server after resize --flavor %s --wait = %v; want VERIFY_RESIZE with the new flavor", flavor, s)
			}
		}
		flavorIs := func(step, flavor string) {
			t.Helper()
			s := waitStatus(t, admin, "server", serverID, "ACTIVE")
			if !strings.HasPrefix(s.str("flavor"), flavor+" ") {
				t.Errorf("server after %s = %v; want flavor %s", step, s, flavor)
			}
		}
		resize("m1.micro")
		admin.ok(t, "server", "resize", "confirm", serverID)
		flavorIs("resize confirm", "m1.micro")
		resize("m1.tiny")
		admin.ok(t, "server", "resize", "--confirm", serverID) // deprecated spelling, still shipped
		flavorIs("resize --confirm", "m1.tiny")
		resize("m1.nano")
		admin.ok(t, "server", "resize", "revert", serverID)
		flavorIs("resize revert", "m1.tiny")
	})

	t.Run("server rebuild --wait switches the image", func(t *testing.T) {
		need(t, serverID)
		admin.ok(t, "server", "rebuild", "--image", img2, "--wait", serverID)
		var s object
		admin.json(t, &s, "server", "show", serverID)
		if s.str("status") != "ACTIVE" || !strings.Contains(s.str("image"), img2) || s.str("key_name") != keyName {
			t.Errorf("server after rebuild --wait = %v; want ACTIVE on image %s, key %s kept", s, img2, keyName)
		}
	})

	t.Run("server image create --wait makes an active snapshot image", func(t *testing.T) {
		need(t, serverID)
		name := "cli-snap-" + sfx
		var im object
		admin.json(t, &im, "server", "image", "create", "--name", name, "--wait", serverID)
		id := im.str("id")
		if id == "" || im.str("status") != "active" {
			t.Fatalf("server image create --wait = %v; want an active image", im)
		}
		admin.json(t, &im, "image", "show", id)
		props := im.obj("properties")
		if im.str("name") != name || im.str("status") != "active" || props["image_type"] != "snapshot" || props["instance_uuid"] != serverID {
			t.Errorf("image show %s = %v; want active, image_type snapshot, instance_uuid %s", name, im, serverID)
		}
		admin.ok(t, "image", "delete", id)
	})

	t.Run("quota set and show, limits show, and the instance quota is enforced", func(t *testing.T) {
		need(t, serverID)
		admin.ok(t, "quota", "set", "--instances", "3", "--cores", "5", "--ram", "2048", "--key-pairs", "9", otherProject)
		var q object
		admin.json(t, &q, "quota", "show", otherProject)
		if q.num("instances") != 3 || q.num("cores") != 5 || q.num("ram") != 2048 || q.num("key-pairs") != 9 {
			t.Errorf("quota show after quota set = %v; want instances 3, cores 5, ram 2048, key-pairs 9", q)
		}
		var lim []object
		admin.json(t, &lim, "limits", "show", "--absolute", "--project", otherProject)
		if v := limitsOf(lim); v["maxTotalInstances"] != 3 || v["maxTotalCores"] != 5 || v["maxTotalRAMSize"] != 2048 ||
			v["maxTotalKeypairs"] != 9 || v["totalInstancesUsed"] != 0 {
			t.Errorf("limits show --absolute --project = %v; want the quotas just set and nothing used", v)
		}
		// The admin project: one server of m1.tiny (1 vCPU, 512 MB) after the resizes.
		admin.json(t, &lim, "limits", "show", "--absolute")
		v := limitsOf(lim)
		if v["totalInstancesUsed"] != 1 || v["totalCoresUsed"] != 1 || v["totalRAMUsed"] != 512 {
			t.Errorf("limits show --absolute = %v; want 1 instance, 1 core, 512 MB used", v)
		}
		before := strconv.Itoa(int(v["maxTotalInstances"]))
		admin.ok(t, "quota", "set", "--instances", "1", projectID)
		defer admin.ok(t, "quota", "set", "--instances", before, projectID)
		_, err := admin.run(t, "server", "create", "--flavor", "m1.nano", "--image", img, "--nic", "net-id="+netID, "cli-over-quota-"+sfx)
		if err == nil || !strings.Contains(err.Error(), "Quota exceeded") || !strings.Contains(err.Error(), "HTTP 403") {
			t.Errorf("server create over the instance quota: want HTTP 403 Quota exceeded, got %v", err)
		}
	})

	t.Run("server create --nic auto and --nic none at microversion 2.37", func(t *testing.T) {
		var auto, none object
		admin.json(t, &auto, "--os-compute-api-version", "2.37", "server", "create", "--wait", "--flavor", "m1.nano",
			"--image", img, "--nic", "auto", "cli-auto-"+sfx)
		admin.json(t, &none, "--os-compute-api-version", "2.37", "server", "create", "--wait", "--flavor", "m1.nano",
			"--image", img, "--nic", "none", "cli-none-"+sfx)
		if auto.str("status") != "ACTIVE" || !strings.Contains(fmt.Sprint(auto.obj("addresses")[netName]), "10.91.0.") {
			t.Errorf("server create --nic auto = %v; want ACTIVE with an address on %s, the project's only network", auto, netName)
		}
		if none.str("status") != "ACTIVE" || len(none.obj("addresses")) != 0 {
			t.Errorf("server create --nic none = %v; want ACTIVE with no addresses", none)
		}
		admin.ok(t, "server", "delete", "--wait", auto.str("id"), none.str("id"))
	})

	t.Run("server delete --wait removes the server and its port", func(t *testing.T) {
		need(t, serverID)
		admin.ok(t, "server", "delete", "--wait", serverID)
		if out, err := admin.run(t, "server", "show", serverID, "-f", "json"); err == nil {
			t.Errorf("server show after delete --wait succeeded: %s", out)
		} else if !strings.Contains(err.Error(), "No server with a name or ID") {
			t.Errorf("server show after delete: want not found, got %v", err)
		}
		var ports []object
		admin.json(t, &ports, "port", "list", "--device-id", serverID)
		if len(ports) != 0 {
			t.Errorf("port list --device-id %s after delete = %v; want none", serverID, ports)
		}
		admin.ok(t, "server", "group", "delete", groupID)
		var rows []object
		admin.json(t, &rows, "server", "group", "list")
		if findRow(rows, "ID", groupID) != nil {
			t.Errorf("server group list after delete still has %s: %v", groupID, rows)
		}
	})
}

// newAdminClient starts `nubo up` and returns the openstack CLI as its admin,
// and the admin project's ID; it skips (fails in CI) without the CLI.
//
// The admin authenticates once with the password `nubo admin openrc` gives, then
// every command runs with that token (OS_AUTH_TYPE=v3token, scoped to the admin
// project): these tests make a hundred calls, and a password check at nubo's
// default bcrypt cost for each one would be most of their run time on a small
// machine. Password authentication itself is TestOpenStackCLI's business.
func newAdminClient(t *testing.T) (*client, string) {
	t.Helper()
	osc, err := exec.LookPath("openstack")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the openstack CLI is not installed; run scripts/install-deps.sh (python3-openstackclient)")
		}
		t.Skip("the openstack CLI is not installed; scripts/install-deps.sh installs it")
	}
	cloud := startNubo(t, nuboBinary(t))
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	withPassword := &client{bin: osc, env: append(append([]string{}, base...), cloud.openrc...)}
	var tok object
	withPassword.json(t, &tok, "token", "issue")
	if tok.str("id") == "" || tok.str("project_id") == "" {
		t.Fatalf("token issue = %v; want a project-scoped token", tok)
	}
	env := append(base, "OS_AUTH_TYPE=v3token", "OS_TOKEN="+tok.str("id"), "OS_PROJECT_ID="+tok.str("project_id"))
	for _, k := range []string{"OS_AUTH_URL", "OS_IDENTITY_API_VERSION", "OS_REGION_NAME", "OS_INTERFACE"} {
		if v := cloud.get(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return &client{bin: osc, env: env}, tok.str("project_id")
}

// computeHost returns the simulated host's name, checking its nova-compute is up.
func computeHost(t *testing.T, c *client) string {
	t.Helper()
	var rows []object
	c.json(t, &rows, "compute", "service", "list", "--service", "nova-compute")
	if len(rows) != 1 || rows[0].str("Host") == "" || rows[0].str("Status") != "enabled" || rows[0].str("State") != "up" {
		t.Fatalf("compute service list --service nova-compute = %v; want one enabled, up host", rows)
	}
	return rows[0].str("Host")
}

// uploadImage creates a small active raw image and returns its ID.
func uploadImage(t *testing.T, c *client, name string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "disk.raw")
	data := make([]byte, 64<<10)
	rand.Read(data) //nolint:errcheck // never fails
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var img object
	c.json(t, &img, "image", "create", "--file", file, "--disk-format", "raw", "--container-format", "bare", name)
	if img.str("id") == "" {
		t.Fatalf("image create = %v; want an id", img)
	}
	return img.str("id")
}

// tenantNetwork creates a network with one IPv4 subnet and returns its name and ID.
func tenantNetwork(t *testing.T, c *client, name, cidr string) (string, string) {
	t.Helper()
	var n, s object
	c.json(t, &n, "network", "create", name)
	c.json(t, &s, "subnet", "create", "--network", n.str("id"), "--subnet-range", cidr, name+"-v4")
	if n.str("id") == "" || s.str("network_id") != n.str("id") {
		t.Fatalf("network create = %v, subnet create = %v", n, s)
	}
	return name, n.str("id")
}

// waitStatus polls `openstack <kind> show id` until its status is want and
// returns the record; an error status or the timeout fails the test.
func waitStatus(t *testing.T, c *client, kind, id, want string) object {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	args := append(strings.Fields(kind), "show", id)
	for {
		var o object
		c.json(t, &o, args...)
		st := o.str("status")
		if st == want {
			return o
		}
		if strings.HasPrefix(strings.ToLower(st), "error") {
			t.Fatalf("%s %s went to %s waiting for %s: %v", kind, id, st, want, o)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still %s after %v, want %s: %v", kind, id, st, waitTimeout, want, o)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// waitGone polls `openstack <kind> show id` until it fails with not found.
func waitGone(t *testing.T, c *client, kind, id string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	args := append(strings.Fields(kind), "show", id, "-f", "json")
	for {
		out, err := c.run(t, args...)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "No ") || strings.Contains(msg, "HTTP 404") || strings.Contains(msg, "ould not be found") {
				return
			}
			t.Fatalf("%s show %s: want not found, got %v", kind, id, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still there %v after its delete: %s", kind, id, waitTimeout, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// limitsOf turns `limits show --absolute` rows into name → value.
func limitsOf(rows []object) map[string]float64 {
	m := map[string]float64{}
	for _, r := range rows {
		if v, ok := r["Value"].(float64); ok {
			m[r.str("Name")] = v
		}
	}
	return m
}

func (o object) num(key string) float64 {
	switch v := o[key].(type) {
	case float64:
		return v
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return -1
}

func (o object) obj(key string) map[string]any {
	m, _ := o[key].(map[string]any)
	return m
}

// strs returns a list of strings, or the IDs of a list of objects with "id".
func (o object) strs(key string) []string {
	var out []string
	switch v := o[key].(type) {
	case []any:
		for _, e := range v {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case map[string]any:
				id, _ := e["id"].(string)
				out = append(out, id)
			}
		}
	case string: // some client versions format lists as "a, b"
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
