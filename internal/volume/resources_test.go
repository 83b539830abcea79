package volume

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/nubo-cloud/nubo/internal/fault"
)

func TestQos_AssociateAndDelete(t *testing.T) {
	s, _, _ := newService(t)
	ctx := admin()
	_, err := s.CreateQos(member("p1"), "q", "", nil)
	wantKind(t, err, fault.Forbidden)
	_, err = s.CreateQos(ctx, "q", "sideways", nil)
	wantKind(t, err, fault.BadRequest)
	q, err := s.CreateQos(ctx, "q", "", map[string]string{"read_iops_sec": "2000"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Consumer != "back-end" {
		t.Fatalf("default consumer %q", q.Consumer)
	}
	_, err = s.CreateQos(ctx, "q", "both", nil)
	wantKind(t, err, fault.Conflict)
	t1, _ := s.CreateType(ctx, Type{Name: "t1", IsPublic: true})
	if err := s.AssociateQos(ctx, q.ID, t1.ID); err != nil {
		t.Fatal(err)
	}
	q2, _ := s.CreateQos(ctx, "q2", "front-end", nil)
	wantKind(t, s.AssociateQos(ctx, q2.ID, t1.ID), fault.BadRequest) // already has specs
	wantKind(t, s.AssociateQos(ctx, q.ID, "no-such-type"), fault.NotFound)
	// Unsetting a key that is not there changes nothing.
	wantKind(t, s.UnsetQosKeys(ctx, q.ID, []string{"read_iops_sec", "nope"}), fault.NotFound)
	if got, _ := s.GetQos(ctx, q.ID); got.Specs["read_iops_sec"] != "2000" {
		t.Fatalf("specs changed: %v", got.Specs)
	}
	// In use: delete refused without force; force disassociates.
	wantKind(t, s.DeleteQos(ctx, q.ID, false), fault.BadRequest)
	if err := s.DeleteQos(ctx, q.ID, true); err != nil {
		t.Fatal(err)
	}
	if tt, _ := s.GetType(ctx, t1.ID); tt.QosSpecsID != "" {
		t.Fatal("type still associated with deleted specs")
	}
	if err := s.AssociateQos(ctx, q2.ID, t1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DisassociateQos(ctx, q2.ID, "", true); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.QosAssociations(ctx, q2.ID); len(as) != 0 {
		t.Fatalf("associations left: %v", as)
	}
}

func TestTransfer_AcceptMovesVolumeAndSnapshots(t *testing.T) {
	s, _, _ := newService(t)
	src, dst := member("p1"), member("p2")
	v, err := s.Create(src, CreateRequest{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.CreateTransfer(src, v.ID, "t", false)
	wantKind(t, err, fault.BadRequest) // still creating
	settle(t, s)
	sn, err := s.CreateSnapshot(src, v.ID, "s", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	_, _, err = s.CreateTransfer(dst, v.ID, "t", false)
	wantKind(t, err, fault.NotFound) // not the caller's volume
	tr, key, err := s.CreateTransfer(src, v.ID, "t", false)
	if err != nil {
		t.Fatal(err)
	}
	if status(t, s, src, v.ID) != StatusAwaitingTransfer {
		t.Fatal("not awaiting-transfer")
	}
	wantKind(t, s.Delete(src, v.ID, false, false), fault.BadRequest)
	if _, err := s.GetTransfer(dst, tr.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("other project sees the transfer: %v", err)
	}
	_, err = s.AcceptTransfer(dst, tr.ID, "wrong")
	wantKind(t, err, fault.BadRequest)
	if status(t, s, src, v.ID) != StatusAwaitingTransfer {
		t.Fatal("bad key changed the volume")
	}
	// Over the destination's quota: refused, nothing moves.
	if _, err := s.UpdateQuotaSet(admin(), "p2", map[string]int64{"volumes": 0}); err != nil {
		t.Fatal(err)
	}
	_, err = s.AcceptTransfer(dst, tr.ID, key)
	wantKind(t, err, fault.OverLimit)
	if _, err := s.UpdateQuotaSet(admin(), "p2", map[string]int64{"volumes": 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptTransfer(dst, tr.ID, key); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(dst, v.ID)
	if err != nil || got.Status != StatusAvailable || got.ProjectID != "p2" || got.UserID != "u-p2" {
		t.Fatalf("accepted volume %+v %v", got, err)
	}
	if gs, err := s.GetSnapshot(dst, sn.ID); err != nil || gs.ProjectID != "p2" {
		t.Fatalf("snapshot did not move: %v", err)
	}
	if _, err := s.GetTransfer(src, tr.ID); !fault.Is(err, fault.NotFound) {
		t.Fatal("transfer left after accept")
	}
}

func TestTransfer_DeleteReturnsVolume(t *testing.T) {
	s, _, _ := newService(t)
	ctx := member("p1")
	v, _ := s.Create(ctx, CreateRequest{Size: 1})
	settle(t, s)
	tr, _, err := s.CreateTransfer(ctx, v.ID, "", true)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.CreateTransfer(ctx, v.ID, "", true)
	wantKind(t, err, fault.BadRequest)
	if err := s.DeleteTransfer(ctx, tr.ID); err != nil {
		t.Fatal(err)
	}
	if status(t, s, ctx, v.ID) != StatusAvailable {
		t.Fatal("volume not available after transfer delete")
	}
	// A forced delete of a volume awaiting transfer drops the transfer.
	tr, key, err := s.CreateTransfer(ctx, v.ID, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(admin(), v.ID, false, true); err != nil {
		t.Fatal(err)
	}
	_, err = s.AcceptTransfer(member("p2"), tr.ID, key)
	wantKind(t, err, fault.NotFound)
}

func TestMessages_FailedCreateLeavesMessage(t *testing.T) {
	s, _, _ := newService(t)
	bogus, _ := s.CreateType(admin(), Type{Name: "bogus", IsPublic: true, ExtraSpecs: map[string]string{"vendor_name": "Other"}})
	ctx := member("p1")
	v, err := s.Create(ctx, CreateRequest{Size: 1, Type: bogus.ID})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	ms, err := s.ListMessages(ctx)
	if err != nil || len(ms) != 1 {
		t.Fatalf("messages %v %v", ms, err)
	}
	m := ms[0]
	if m.ResourceUUID != v.ID || m.EventID != "VOLUME_VOLUME_001_003" || m.RequestID == "" {
		t.Fatalf("message %+v", m)
	}
	if ms, _ := s.ListMessages(member("p2")); len(ms) != 0 {
		t.Fatal("other project sees the message")
	}
	wantKind(t, s.DeleteMessage(member("p2"), m.ID), fault.NotFound)
	if err := s.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMessage(ctx, m.ID)
	wantKind(t, err, fault.NotFound)
}

func TestServices_DisableFreeze(t *testing.T) {
	s, _, _ := newService(t)
	ctx := admin()
	_, err := s.SetServiceDisabled(ctx, "nubo", "cinder-nope", true, "")
	wantKind(t, err, fault.NotFound)
	svc, err := s.SetServiceDisabled(ctx, s.BackendHost(), BinaryVolume, true, "maintenance")
	if err != nil || !svc.Disabled || svc.DisabledReason != "maintenance" {
		t.Fatalf("%+v %v", svc, err)
	}
	// While cinder-volume is disabled, new volumes find no backend.
	dv, _ := s.Create(member("p1"), CreateRequest{Size: 1})
	settle(t, s)
	if got := status(t, s, member("p1"), dv.ID); got != StatusError {
		t.Fatalf("volume created while the service is disabled: %s", got)
	}
	if _, err := s.SetServiceDisabled(ctx, HostName, BinaryVolume, false, ""); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.SetHostFrozen(ctx, "invalid_host", true), fault.BadRequest)
	if err := s.SetHostFrozen(ctx, s.BackendHost(), true); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Services(ctx)
	for _, x := range all {
		if x.Binary == BinaryVolume && (!x.Frozen || x.Disabled) {
			t.Fatalf("volume service %+v", x)
		}
	}
	wantKind(t, s.SetHostFrozen(member("p1"), s.BackendHost(), false), fault.Forbidden)
	// A frozen backend refuses to delete, extend or snapshot volumes.
	p := member("p1")
	v, _ := s.Create(p, CreateRequest{Size: 1})
	settle(t, s)
	if got := status(t, s, p, v.ID); got != StatusAvailable {
		t.Fatalf("status %s", got)
	}
	wantKind(t, s.Delete(p, v.ID, false, false), fault.BadRequest)
	_, err = s.Extend(p, v.ID, 2, false)
	wantKind(t, err, fault.BadRequest)
	if err := s.SetHostFrozen(ctx, HostName, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(p, v.ID, false, false); err != nil {
		t.Fatal(err)
	}
}

func TestBackupExportImport(t *testing.T) {
	s, _, _ := newService(t)
	ctx := admin()
	v, _ := s.Create(ctx, CreateRequest{Size: 1})
	settle(t, s)
	b, err := s.CreateBackup(ctx, BackupRequest{VolumeID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	svc, url, err := s.ExportBackup(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The same record again: its ID is taken.
	_, err = s.ImportBackup(ctx, svc, url)
	wantKind(t, err, fault.BadRequest)
	_, err = s.ImportBackup(ctx, "cinder.backup.drivers.swift", url)
	wantKind(t, err, fault.BadRequest)
	// The record under a new ID (as Tempest does), then the original
	// deleted: the data stays for the imported copy.
	raw, _ := base64.StdEncoding.DecodeString(url)
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	rec["id"] = newID()
	raw, _ = json.Marshal(rec)
	imp, err := s.ImportBackup(ctx, svc, base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	if imp.ID != rec["id"] || imp.Status != BackupAvailable {
		t.Fatalf("imported %+v", imp)
	}
	if err := s.DeleteBackup(ctx, b.ID, false); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	nv, _, err := s.RestoreBackup(ctx, imp.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if status(t, s, ctx, nv.ID) != StatusAvailable {
		t.Fatal("restore from imported record failed")
	}
}

func TestEncryption_RefusedWhileTypeInUse(t *testing.T) {
	s, _, _ := newService(t)
	ctx := admin()
	ty, _ := s.CreateType(ctx, Type{Name: "enc", IsPublic: true})
	_, err := s.SetEncryption(ctx, ty.ID, true, EncryptionUpdate{Provider: ptr("luks"), ControlLocation: ptr("middle")})
	wantKind(t, err, fault.BadRequest)
	if _, err := s.SetEncryption(ctx, ty.ID, true, EncryptionUpdate{Provider: ptr("luks")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.SetEncryption(ctx, ty.ID, true, EncryptionUpdate{Provider: ptr("luks")})
	wantKind(t, err, fault.BadRequest)
	if _, err := s.Create(member("p1"), CreateRequest{Size: 1, Type: ty.ID}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteEncryption(ctx, ty.ID), fault.BadRequest)
	_, e, _ := s.GetEncryption(ctx, ty.ID)
	if e == nil || e.Provider != "luks" || e.ControlLocation != "front-end" {
		t.Fatalf("encryption %+v", e)
	}
}

func ptr[T any](v T) *T { return &v }

func TestGroups_SnapshotAndDelete(t *testing.T) {
	s, _, _ := newService(t)
	ctx := member("p1")
	vt, _ := s.CreateType(admin(), Type{Name: "gvt", IsPublic: true})
	gt, err := s.CreateGroupType(admin(), GroupType{Name: "gt", IsPublic: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateGroup(ctx, GroupRequest{GroupType: gt.ID})
	wantKind(t, err, fault.BadRequest) // no volume types
	g, err := s.CreateGroup(ctx, GroupRequest{Name: "g", GroupType: gt.ID, VolumeTypes: []string{vt.ID}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(ctx, CreateRequest{Size: 1, GroupID: g.ID}) // default type not in the group
	wantKind(t, err, fault.BadRequest)
	v, err := s.Create(ctx, CreateRequest{Size: 1, Type: vt.ID, GroupID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.Create(ctx, CreateRequest{Size: 1})
	settle(t, s)
	wantKind(t, s.UpdateGroup(ctx, g.ID, nil, nil, []string{other.ID}, nil), fault.BadRequest)
	wantKind(t, s.DeleteGroupType(admin(), gt.ID), fault.BadRequest)
	gs, err := s.CreateGroupSnapshot(ctx, g.ID, "gs", "")
	if err != nil {
		t.Fatal(err)
	}
	if gs.Status != GroupCreating {
		t.Fatalf("group snapshot %s", gs.Status)
	}
	settle(t, s)
	if got, _ := s.GetGroupSnapshot(ctx, gs.ID); got.Status != GroupAvailable {
		t.Fatalf("group snapshot %s after settle", got.Status)
	}
	g2, err := s.CreateGroupFromSource(ctx, "g2", "", "", gs.ID)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	g2r, _ := s.GetGroup(ctx, g2.ID)
	if len(g2r.Volumes) != 1 || status(t, s, ctx, g2r.Volumes[0]) != StatusAvailable {
		t.Fatalf("group from snapshot: %+v", g2r)
	}
	wantKind(t, s.DeleteGroup(ctx, g.ID, true), fault.BadRequest) // has a group snapshot
	if err := s.DeleteGroupSnapshot(ctx, gs.ID); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if _, err := s.GetGroupSnapshot(ctx, gs.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("group snapshot left: %v", err)
	}
	wantKind(t, s.DeleteGroup(ctx, g.ID, false), fault.BadRequest) // has volumes
	if err := s.DeleteGroup(ctx, g.ID, true); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	if _, err := s.Get(ctx, v.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("group volume left: %v", err)
	}
	if _, err := s.Get(ctx, other.ID); err != nil {
		t.Fatal("volume outside the group deleted")
	}
}
