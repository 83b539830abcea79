package contract

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// cinderCall sends a Block Storage request at microversion mv ("" = none)
// and decodes the JSON answer (if any) into a map.
func cinderCall(t *testing.T, url, token, method, path, mv string, body any) (int, map[string]any) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	h := map[string]string{}
	if mv != "" {
		h["OpenStack-API-Version"] = "volume " + mv
	}
	res := raw(t, method, url+"/volume/v3"+path, token, b, h)
	var out map[string]any
	if len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, res.Body, err)
		}
	}
	return res.Status, out
}

func TestVolume_QosSpecsWire(t *testing.T) {
	c, bs := newVolumeCloud(t)
	tok := bs.ProviderClient.Token()
	st, out := cinderCall(t, c.URL, tok, "POST", "/qos-specs", "", map[string]any{"qos_specs": map[string]any{
		"name": "gold", "consumer": "front-end", "read_iops_sec": "2000"}})
	if st != http.StatusOK || out["links"] == nil {
		t.Fatalf("create: %d %v", st, out)
	}
	q := out["qos_specs"].(map[string]any)
	id := q["id"].(string)
	if q["consumer"] != "front-end" || q["specs"].(map[string]any)["read_iops_sec"] != "2000" {
		t.Fatalf("created %v", q)
	}
	if st, _ := cinderCall(t, c.URL, tok, "POST", "/qos-specs", "", map[string]any{"qos_specs": map[string]any{"name": "x", "consumer": "nowhere"}}); st != http.StatusBadRequest {
		t.Fatalf("bad consumer: %d", st)
	}
	st, out = cinderCall(t, c.URL, tok, "POST", "/types", "", map[string]any{"volume_type": map[string]any{"name": "fast"}})
	if st != http.StatusOK {
		t.Fatalf("type: %d", st)
	}
	typeID := out["volume_type"].(map[string]any)["id"].(string)
	if st, _ := cinderCall(t, c.URL, tok, "GET", "/qos-specs/"+id+"/associate?vol_type_id="+typeID, "", nil); st != http.StatusAccepted {
		t.Fatalf("associate: %d", st)
	}
	st, out = cinderCall(t, c.URL, tok, "GET", "/qos-specs/"+id+"/associations", "", nil)
	as := out["qos_associations"].([]any)
	if st != http.StatusOK || len(as) != 1 || as[0].(map[string]any)["id"] != typeID {
		t.Fatalf("associations: %d %v", st, out)
	}
	if _, out = cinderCall(t, c.URL, tok, "GET", "/types/"+typeID, "", nil); out["volume_type"].(map[string]any)["qos_specs_id"] != id {
		t.Fatalf("type does not show its qos specs: %v", out)
	}
	if st, _ := cinderCall(t, c.URL, tok, "DELETE", "/qos-specs/"+id, "", nil); st != http.StatusBadRequest {
		t.Fatalf("delete in use: %d", st)
	}
	if st, _ := cinderCall(t, c.URL, tok, "DELETE", "/qos-specs/"+id+"?force=true", "", nil); st != http.StatusAccepted {
		t.Fatalf("forced delete: %d", st)
	}
	if st, _ := cinderCall(t, c.URL, tok, "GET", "/qos-specs/"+id, "", nil); st != http.StatusNotFound {
		t.Fatalf("deleted specs: %d", st)
	}
}

func TestVolume_TransferWire(t *testing.T) {
	c, bs := newVolumeCloud(t)
	tok := bs.ProviderClient.Token()
	v := createVolume(t, bs, volumes.CreateOpts{Size: 1})
	// volume-transfers needs 3.55; os-volume-transfer answers at any version.
	if st, _ := cinderCall(t, c.URL, tok, "GET", "/volume-transfers", "3.54", nil); st != http.StatusNotFound {
		t.Fatalf("volume-transfers at 3.54: %d", st)
	}
	st, out := cinderCall(t, c.URL, tok, "POST", "/volume-transfers", "3.57", map[string]any{"transfer": map[string]any{"volume_id": v.ID, "name": "give"}})
	if st != http.StatusAccepted {
		t.Fatalf("create: %d %v", st, out)
	}
	tr := out["transfer"].(map[string]any)
	if tr["auth_key"] == "" || tr["source_project_id"] == nil || tr["accepted"] != false || tr["no_snapshots"] != false {
		t.Fatalf("created %v", tr)
	}
	waitVolume(t, bs, v.ID, "awaiting-transfer")
	id := tr["id"].(string)
	admin := c.Admin(t)
	other := newTenant(t, admin, "taker", "member")
	otok := other.token(t, c)
	if st, _ := cinderCall(t, c.URL, otok, "GET", "/os-volume-transfer/"+id, "", nil); st != http.StatusNotFound {
		t.Fatalf("other project sees the transfer: %d", st)
	}
	if st, _ := cinderCall(t, c.URL, otok, "POST", "/os-volume-transfer/"+id+"/accept", "", map[string]any{"accept": map[string]any{"auth_key": "wrong"}}); st != http.StatusBadRequest {
		t.Fatalf("wrong key: %d", st)
	}
	st, out = cinderCall(t, c.URL, otok, "POST", "/os-volume-transfer/"+id+"/accept", "", map[string]any{"accept": map[string]any{"auth_key": tr["auth_key"]}})
	if st != http.StatusAccepted || out["transfer"].(map[string]any)["volume_id"] != v.ID {
		t.Fatalf("accept: %d %v", st, out)
	}
	st, out = cinderCall(t, c.URL, otok, "GET", "/volumes/"+v.ID, "", nil)
	if st != http.StatusOK || out["volume"].(map[string]any)["status"] != "available" {
		t.Fatalf("accepted volume: %d %v", st, out)
	}
}

func TestVolume_BackendsHostsMessagesGates(t *testing.T) {
	c, bs := newVolumeCloud(t)
	tok := bs.ProviderClient.Token()
	st, out := cinderCall(t, c.URL, tok, "GET", "/scheduler-stats/get_pools?detail=true", "", nil)
	pools := out["pools"].([]any)
	if st != http.StatusOK || len(pools) != 1 {
		t.Fatalf("pools: %d %v", st, out)
	}
	caps := pools[0].(map[string]any)["capabilities"].(map[string]any)
	st, out = cinderCall(t, c.URL, tok, "GET", "/capabilities/nubo@file", "", nil)
	if st != http.StatusOK || out["vendor_name"] != caps["vendor_name"] || out["storage_protocol"] != caps["storage_protocol"] {
		t.Fatalf("capabilities: %d %v vs %v", st, out, caps)
	}
	if st, _ := cinderCall(t, c.URL, tok, "GET", "/capabilities/elsewhere@lvm", "", nil); st != http.StatusNotFound {
		t.Fatalf("unknown backend: %d", st)
	}
	if st, out := cinderCall(t, c.URL, tok, "GET", "/os-hosts", "", nil); st != http.StatusOK || len(out["hosts"].([]any)) != 3 {
		t.Fatalf("hosts: %d %v", st, out)
	}
	if st, _ := cinderCall(t, c.URL, tok, "PUT", "/os-services/freeze", "", map[string]any{"host": "invalid_host"}); st != http.StatusBadRequest {
		t.Fatalf("freeze unknown host: %d", st)
	}
	if st, _ := cinderCall(t, c.URL, tok, "PUT", "/os-services/disable-log-reason", "", map[string]any{"host": "nubo", "binary": "cinder-scheduler", "disabled_reason": nil}); st != http.StatusBadRequest {
		t.Fatalf("disable without reason: %d", st)
	}
	// Version gates: messages 3.3, group types 3.11, groups 3.13.
	for _, g := range []struct{ path, below, at string }{
		{"/messages", "3.2", "3.3"}, {"/group_types", "3.10", "3.11"}, {"/groups", "3.12", "3.13"}, {"/group_snapshots", "3.13", "3.14"},
	} {
		if st, _ := cinderCall(t, c.URL, tok, "GET", g.path, g.below, nil); st != http.StatusNotFound {
			t.Fatalf("%s at %s: %d", g.path, g.below, st)
		}
		if st, _ := cinderCall(t, c.URL, tok, "GET", g.path, g.at, nil); st != http.StatusOK {
			t.Fatalf("%s at %s: %d", g.path, g.at, st)
		}
	}
}
