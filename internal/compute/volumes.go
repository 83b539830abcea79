package compute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Volumes on servers (os-volume_attachments, boot from volume).
//
// A server's volumes are Server.VolumeAttachments, one entry per volume,
// each with the Cinder attachment that holds it:
//
//	live attach (API)      → attaching ── host plugs it in, ReportVolume(attached) ──► attached
//	                                       (Cinder attachment completed: volume in-use)
//	live detach (API)      → detaching ── host unplugs it, ReportVolume(detached) ──► (gone)
//	                                       (Cinder attachment deleted: volume available)
//	a failed report rolls back: a failed attach drops the entry and its attachment, a
//	failed detach returns to attached.
//
// A server without a host (shelved offloaded) has nothing to plug: the
// control plane completes its attach and detach at once. Boot volumes
// (block_device_mapping_v2 with destination_type volume) are prepared by
// the VolumeReconciler before the server is scheduled (task
// block_device_mapping, status BUILD): volumes are created (from an image,
// a snapshot or blank) and waited for, then attached; the host opens them
// when it spawns the server. A deleted server's attachments are deleted,
// and its delete_on_termination volumes with them.

// TaskBlockDeviceMapping is the task of a new server whose volumes the
// control plane prepares before scheduling it.
const TaskBlockDeviceMapping = "block_device_mapping"

// VolumeAttachment states.
const (
	VolumeAttaching = "attaching"
	VolumeAttached  = "attached"
	VolumeDetaching = "detaching"
)

// VolumeAttachment is one volume of a server, as the host side needs it.
type VolumeAttachment struct {
	VolumeID     string `json:"volume_id"`
	AttachmentID string `json:"attachment_id,omitempty"`
	// Device is the guest device name (/dev/vdb); Nova's is advisory.
	Device string `json:"device,omitempty"`
	// Path and Format are the connection info's data.device_path and
	// data.format (the file backend: a qcow2 or raw file).
	Path                string `json:"path,omitempty"`
	Format              string `json:"format,omitempty"`
	ReadOnly            bool   `json:"read_only,omitempty"`
	Boot                bool   `json:"boot,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination,omitempty"`
	// State is VolumeAttaching, VolumeAttached or VolumeDetaching.
	State  string `json:"state"`
	SizeGB int    `json:"size_gb,omitempty"`
	// Tag is the device tag (2.49).
	Tag string `json:"tag,omitempty"`
}

// Volumes is what Compute needs from Block Storage; internal/cloud wires
// an adapter over the volume service (Compute never imports it). Faults
// are Cinder's (404 volume not found, 400 invalid volume, 413 quota).
type Volumes interface {
	// GetVolume returns a volume the credentials in ctx may see.
	GetVolume(ctx context.Context, id string) (Volume, error)
	// CreateVolume creates a volume in the credentials' project.
	CreateVolume(ctx context.Context, req VolumeRequest) (Volume, error)
	// DeleteVolume deletes a volume; 404 is not an error.
	DeleteVolume(ctx context.Context, id string) error
	// Attach creates a Cinder attachment of the volume to the server with
	// a connector (the volume goes attaching) and returns its connection.
	Attach(ctx context.Context, volumeID, serverID, device string) (VolumeConnection, error)
	// CompleteAttachment marks an attachment attached (volume in-use).
	CompleteAttachment(ctx context.Context, attachmentID string) error
	// DeleteAttachment removes an attachment; 404 is not an error.
	DeleteAttachment(ctx context.Context, attachmentID string) error
	// BeginDetaching moves an in-use volume to detaching.
	BeginDetaching(ctx context.Context, volumeID string) error
	// RollDetaching returns a detaching volume to in-use.
	RollDetaching(ctx context.Context, volumeID string) error

	// For Nova's legacy proxies (os-volumes, os-snapshots, ≤ 2.35), with
	// the caller's credentials.
	ListVolumes(ctx context.Context) ([]Volume, error)
	CreateSnapshot(ctx context.Context, volumeID, name, description string, force bool) (VolumeSnapshot, error)
	GetSnapshot(ctx context.Context, id string) (VolumeSnapshot, error)
	ListSnapshots(ctx context.Context) ([]VolumeSnapshot, error)
	DeleteSnapshot(ctx context.Context, id string) error
}

// Volume is a Block Storage volume as Compute sees it.
type Volume struct {
	ID          string
	Name        string
	Description string
	ProjectID   string
	Status      string
	SizeGB      int
	Bootable    bool
	Multiattach bool
	Zone        string
	TypeName    string
	SnapshotID  string
	Metadata    map[string]string
	CreatedAt   time.Time
	// Attachments are the volume's Cinder attachments.
	Attachments []VolumeServer
}

// VolumeServer is one Cinder attachment of a volume.
type VolumeServer struct {
	ID, ServerID, Device string
}

// attachedTo reports whether v has an attachment to serverID.
func (v *Volume) attachedTo(serverID string) bool {
	return slices.ContainsFunc(v.Attachments, func(a VolumeServer) bool { return a.ServerID == serverID })
}

// VolumeRequest is a volume Compute creates (block device mappings, the
// os-volumes proxy).
type VolumeRequest struct {
	Name        string
	Description string
	SizeGB      int
	ImageID     string
	SnapshotID  string
	Type        string
	Zone        string
	Metadata    map[string]string
}

// VolumeSnapshot is a Block Storage snapshot (os-snapshots proxy).
type VolumeSnapshot struct {
	ID, VolumeID, Name, Description, Status string
	SizeGB                                  int
	CreatedAt                               time.Time
}

// VolumeProxy returns Block Storage for Nova's legacy proxy APIs.
func (s *Service) VolumeProxy() (Volumes, error) {
	if s.volumes == nil {
		return nil, noVolumes()
	}
	return s.volumes, nil
}

// VolumeConnection is an attachment and what a host opens.
type VolumeConnection struct {
	AttachmentID string
	Path         string
	Format       string
	ReadOnly     bool
}

// SetVolumes wires Block Storage (nil: volumes are 501).
func (s *Service) SetVolumes(v Volumes) { s.volumes = v }

func (s *Service) vols() Volumes { return s.volumes }

func noVolumes() error {
	return fault.New(fault.NotImplemented, "Volumes need the Block Storage service, which is not available.")
}

// volumeCtx is the server owner's project (member) for creating volumes,
// so quotas and ownership are the project's.
func volumeCtx(ctx context.Context, sv *Server) context.Context {
	return policy.NewContext(ctx, &policy.Credentials{UserID: sv.UserID, ProjectID: sv.ProjectID,
		Roles: []string{policy.RoleMember, policy.RoleReader}})
}

var deviceRE = regexp.MustCompile(`^/dev/x{0,1}[a-z]{0,1}d{0,1}[a-z]+[0-9]*$`)

// deviceName returns want if it is free, else the next free /dev/vdX
// (vda is the root disk).
func deviceName(sv *Server, want string) string {
	used := map[string]bool{"/dev/vda": true}
	for _, va := range sv.VolumeAttachments {
		used[va.Device] = true
	}
	if want != "" && !used[want] {
		return want
	}
	for c := 'b'; c <= 'z'; c++ {
		if d := "/dev/vd" + string(c); !used[d] {
			return d
		}
	}
	for c := 'a'; c <= 'z'; c++ {
		if d := "/dev/vda" + string(c); !used[d] {
			return d
		}
	}
	return ""
}

func findVolume(sv *Server, volumeID string) int {
	return slices.IndexFunc(sv.VolumeAttachments, func(va VolumeAttachment) bool { return va.VolumeID == volumeID })
}

func volumeNotFound(id string) error { return notFound("Volume %s could not be found.", id) }

func attachmentNotFound(serverID, volumeID string) error {
	return notFound("Volume %s is not attached to the instance %s", volumeID, serverID)
}

// AttachVolumeRequest is a POST os-volume_attachments body.
type AttachVolumeRequest struct {
	VolumeID            string
	Device              string
	Tag                 string
	DeleteOnTermination bool
}

// ServerVolumes returns a server's volume attachments.
func (s *Service) ServerVolumes(ctx context.Context, serverID string) ([]VolumeAttachment, error) {
	sv, err := s.GetServer(ctx, serverID)
	if err != nil {
		return nil, err
	}
	return sv.VolumeAttachments, nil
}

// ServerVolume returns one volume attachment of a server.
func (s *Service) ServerVolume(ctx context.Context, serverID, volumeID string) (*VolumeAttachment, error) {
	sv, err := s.GetServer(ctx, serverID)
	if err != nil {
		return nil, err
	}
	i := findVolume(sv, volumeID)
	if i < 0 {
		return nil, attachmentNotFound(serverID, volumeID)
	}
	return &sv.VolumeAttachments[i], nil
}

// checkAttachable reports why vol cannot be attached to sv (Nova's 400s).
func checkAttachable(sv *Server, vol Volume) error {
	if findVolume(sv, vol.ID) >= 0 || vol.attachedTo(sv.ID) {
		return badRequest("Invalid volume: volume %s already attached", vol.ID)
	}
	if vol.Status != "available" && !(vol.Multiattach && vol.Status == "in-use") {
		return badRequest("Invalid volume: volume '%s' status must be 'available'. Currently in '%s'", vol.ID, vol.Status)
	}
	return nil
}

// AttachVolume attaches a volume to a server (POST os-volume_attachments):
// the Cinder attachment is made now and the entry is attaching until the
// host reports (ReportVolume); on a server without a host it is attached
// at once.
func (s *Service) AttachVolume(ctx context.Context, serverID string, req AttachVolumeRequest) (*VolumeAttachment, error) {
	vs := s.vols()
	if vs == nil {
		return nil, noVolumes()
	}
	c := creds(ctx)
	sv, err := s.GetServer(ctx, serverID)
	if err != nil {
		return nil, err
	}
	if !c.CanWriteProject(sv.ProjectID) {
		return nil, forbidden()
	}
	if err := checkState(sv, ActionAttachVolume, c.IsAdmin()); err != nil {
		return nil, err
	}
	if req.Device != "" && !deviceRE.MatchString(req.Device) {
		return nil, badRequest("The supplied device path (%s) is invalid.", req.Device)
	}
	if req.Tag != "" && sv.VMState == VMShelvedOffloaded {
		return nil, badRequest("Tagged volume attachment is not supported for shelved-offloaded instances.")
	}
	vol, err := vs.GetVolume(ctx, req.VolumeID)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil, volumeNotFound(req.VolumeID)
		}
		return nil, err
	}
	if err := checkAttachable(sv, vol); err != nil {
		return nil, err
	}
	device := deviceName(sv, req.Device)
	conn, err := vs.Attach(ctx, vol.ID, sv.ID, device)
	if err != nil {
		if fe := fault.As(err); fe != nil && fe.Kind == fault.BadRequest {
			return nil, badRequest("%s", fe.Msg)
		}
		return nil, err
	}
	va := VolumeAttachment{VolumeID: vol.ID, AttachmentID: conn.AttachmentID, Path: conn.Path, Format: conn.Format,
		ReadOnly: conn.ReadOnly, DeleteOnTermination: req.DeleteOnTermination, State: VolumeAttaching, SizeGB: vol.SizeGB, Tag: req.Tag}
	var noHost bool
	_, err = s.instant(ctx, serverID, ActionAttachVolume, func(_ store.Tx, cur *Server) error {
		if findVolume(cur, vol.ID) >= 0 {
			return badRequest("Invalid volume: volume %s already attached", vol.ID)
		}
		va.Device = deviceName(cur, device)
		cur.VolumeAttachments = append(cur.VolumeAttachments, va)
		noHost = cur.HostID == ""
		return nil
	})
	if err != nil {
		_ = vs.DeleteAttachment(serviceContext(context.WithoutCancel(ctx), sv.ProjectID), conn.AttachmentID)
		return nil, err
	}
	if noHost {
		// Nothing to plug in: attached as far as the server goes.
		if err := s.ReportVolume(ctx, serverID, vol.ID, true, nil); err != nil {
			return nil, err
		}
		va.State = VolumeAttached
	}
	return &va, nil
}

// DetachVolume starts detaching a volume from a server (DELETE
// os-volume_attachments/{volume_id}); the host reports when it is gone.
func (s *Service) DetachVolume(ctx context.Context, serverID, volumeID string) error {
	vs := s.vols()
	if vs == nil {
		return noVolumes()
	}
	c := creds(ctx)
	sv, err := s.GetServer(ctx, serverID)
	if err != nil {
		return err
	}
	if !c.CanWriteProject(sv.ProjectID) {
		return forbidden()
	}
	if err := checkState(sv, ActionDetachVolume, c.IsAdmin()); err != nil {
		return err
	}
	i := findVolume(sv, volumeID)
	if i < 0 {
		return attachmentNotFound(serverID, volumeID)
	}
	va := sv.VolumeAttachments[i]
	if va.Boot {
		return badRequest("Cannot detach a root device volume")
	}
	if va.State != VolumeAttached {
		return badRequest("Invalid volume: Volume %s is %s; it must be attached to detach it.", volumeID, va.State)
	}
	sctx := serviceContext(ctx, sv.ProjectID)
	if err := vs.BeginDetaching(sctx, volumeID); err != nil {
		if fe := fault.As(err); fe != nil && fe.Kind == fault.BadRequest {
			return badRequest("%s", fe.Msg)
		}
		if !fault.Is(err, fault.NotFound) {
			return err
		}
	}
	var noHost bool
	_, err = s.instant(ctx, serverID, ActionDetachVolume, func(_ store.Tx, cur *Server) error {
		j := findVolume(cur, volumeID)
		if j < 0 || cur.VolumeAttachments[j].State != VolumeAttached {
			return badRequest("Invalid volume: Volume %s is not attached.", volumeID)
		}
		cur.VolumeAttachments[j].State = VolumeDetaching
		noHost = cur.HostID == ""
		return nil
	})
	if err != nil {
		_ = vs.RollDetaching(context.WithoutCancel(sctx), volumeID)
		return err
	}
	if noHost {
		return s.ReportVolume(ctx, serverID, volumeID, false, nil)
	}
	return nil
}

// SwapVolume replaces an attached volume by another (PUT
// os-volume_attachments/{volume_id}, admin): the new volume is attaching
// on the old one's device, the old one detaching; the host reports both.
func (s *Service) SwapVolume(ctx context.Context, serverID, oldID, newID string) error {
	vs := s.vols()
	if vs == nil {
		return noVolumes()
	}
	c := creds(ctx)
	if !c.IsAdmin() {
		return forbidden()
	}
	sv, err := s.GetServer(ctx, serverID)
	if err != nil {
		return err
	}
	i := findVolume(sv, oldID)
	if i < 0 {
		return attachmentNotFound(serverID, oldID)
	}
	if err := checkState(sv, ActionSwapVolume, true); err != nil {
		return err
	}
	old := sv.VolumeAttachments[i]
	if old.State != VolumeAttached {
		return badRequest("Invalid volume: Volume %s is %s; it must be attached to swap it.", oldID, old.State)
	}
	vol, err := vs.GetVolume(ctx, newID)
	if err != nil {
		if fault.Is(err, fault.NotFound) { // the body's volume: 400, as Nova
			return badRequest("Volume %s could not be found.", newID)
		}
		return err
	}
	if err := checkAttachable(sv, vol); err != nil {
		return err
	}
	if vol.SizeGB < old.SizeGB {
		return badRequest("Invalid volume: The new volume must be at least as large as the old one.")
	}
	sctx := serviceContext(ctx, sv.ProjectID)
	if err := vs.BeginDetaching(sctx, oldID); err != nil {
		return err
	}
	conn, err := vs.Attach(sctx, newID, serverID, old.Device)
	if err != nil {
		_ = vs.RollDetaching(context.WithoutCancel(sctx), oldID)
		return err
	}
	var noHost bool
	_, err = s.instant(ctx, serverID, ActionSwapVolume, func(_ store.Tx, cur *Server) error {
		j := findVolume(cur, oldID)
		if j < 0 || cur.VolumeAttachments[j].State != VolumeAttached || findVolume(cur, newID) >= 0 {
			return conflict("Volume %s of instance %s changed meanwhile.", oldID, serverID)
		}
		o := &cur.VolumeAttachments[j]
		o.State = VolumeDetaching
		cur.VolumeAttachments = append(cur.VolumeAttachments, VolumeAttachment{VolumeID: newID, AttachmentID: conn.AttachmentID,
			Device: o.Device, Path: conn.Path, Format: conn.Format, ReadOnly: conn.ReadOnly, Boot: o.Boot,
			DeleteOnTermination: o.DeleteOnTermination, State: VolumeAttaching, SizeGB: vol.SizeGB, Tag: o.Tag})
		noHost = cur.HostID == ""
		return nil
	})
	if err != nil {
		_ = vs.DeleteAttachment(context.WithoutCancel(sctx), conn.AttachmentID)
		_ = vs.RollDetaching(context.WithoutCancel(sctx), oldID)
		return err
	}
	if noHost {
		if err := s.ReportVolume(ctx, serverID, newID, true, nil); err != nil {
			return err
		}
		return s.ReportVolume(ctx, serverID, oldID, false, nil)
	}
	return nil
}

// ReportVolume is the host side's report after it plugged a volume in
// (attached) or out (!attached) of a running server; failure rolls back.
// A report that does not match the entry's state is stale and ignored.
func (s *Service) ReportVolume(ctx context.Context, serverID, volumeID string, attached bool, failure error) error {
	vs := s.vols()
	if vs == nil {
		return noVolumes()
	}
	var sv *Server
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		sv, err = store.Get[Server](tx, KindServer, serverID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if sv.Deleted {
		return nil // the VolumeReconciler releases a deleted server's volumes
	}
	i := findVolume(sv, volumeID)
	want := VolumeDetaching
	if attached {
		want = VolumeAttaching
	}
	if i < 0 || sv.VolumeAttachments[i].State != want {
		return nil
	}
	va := sv.VolumeAttachments[i]
	sctx := serviceContext(ctx, sv.ProjectID)
	drop := false
	switch {
	case attached && failure == nil:
		err = vs.CompleteAttachment(sctx, va.AttachmentID)
	case attached:
		err, drop = vs.DeleteAttachment(sctx, va.AttachmentID), true
	case failure == nil:
		err, drop = vs.DeleteAttachment(sctx, va.AttachmentID), true
	default:
		err = vs.RollDetaching(sctx, volumeID)
	}
	if err != nil {
		return fmt.Errorf("volume %s of server %s: %w", volumeID, serverID, err)
	}
	if failure != nil {
		s.log.WarnContext(ctx, "volume attach or detach failed on the host", "server_id", serverID, "volume_id", volumeID,
			"attach", attached, logkey.Err, failure)
	}
	return s.write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Server](tx, KindServer, serverID)
		if err != nil {
			return err
		}
		j := findVolume(cur, volumeID)
		if cur.Deleted || j < 0 || cur.VolumeAttachments[j].State != want {
			return nil
		}
		if drop {
			cur.VolumeAttachments = slices.Delete(cur.VolumeAttachments, j, j+1)
		} else {
			cur.VolumeAttachments[j].State = VolumeAttached
		}
		cur.UpdatedAt = s.now()
		return putServer(tx, cur, false)
	})
}

// volumeBDMs are the block devices that become volumes, in order.
func volumeBDMs(bds []BlockDevice) []BlockDevice {
	var out []BlockDevice
	for _, bd := range bds {
		if bd.DestinationType == "volume" {
			out = append(out, bd)
		}
	}
	return out
}

func isBoot(bd BlockDevice) bool { return bd.BootIndex != nil && *bd.BootIndex == 0 }

// checkBootVolumes validates the volume block devices of a create request
// (the synchronous part of boot from volume).
func (s *Service) checkBootVolumes(ctx context.Context, req CreateServerRequest) error {
	bds := volumeBDMs(req.BlockDevices)
	if len(bds) == 0 {
		return nil
	}
	vs := s.vols()
	if vs == nil {
		return fault.New(fault.NotImplemented, "Block Device Mapping is Invalid: volumes need the Block Storage service, which is not available.")
	}
	for _, bd := range bds {
		switch bd.SourceType {
		case "volume":
			if bd.UUID == "" {
				return badRequest("Block Device Mapping is Invalid: missing uuid for a volume source.")
			}
			if req.MaxCount > 1 {
				return badRequest("Block Device Mapping is Invalid: multiple servers cannot boot from the same volume %s.", bd.UUID)
			}
			vol, err := vs.GetVolume(ctx, bd.UUID)
			if err != nil {
				if fault.Is(err, fault.NotFound) {
					return badRequest("Block Device Mapping is Invalid: failed to get volume %s.", bd.UUID)
				}
				return err
			}
			if vol.Status != "available" && !(vol.Multiattach && vol.Status == "in-use") {
				return badRequest("Invalid volume: volume '%s' status must be 'available'. Currently in '%s'", vol.ID, vol.Status)
			}
			if isBoot(bd) && !vol.Bootable {
				return badRequest("Block Device %s is not bootable.", vol.ID)
			}
		case "snapshot":
			if bd.UUID == "" {
				return badRequest("Block Device Mapping is Invalid: missing uuid for a snapshot source.")
			}
		case "image", "blank":
			if bd.VolumeSize <= 0 {
				if bd.SourceType == "image" {
					return badRequest("Images with destination_type 'volume' need to have a non-zero size specified")
				}
				return badRequest("Block Device Mapping is Invalid: You specified more local devices than the limit allows")
			}
		}
	}
	return nil
}

// VolumeReconciler is the control-plane side of server volumes: it
// prepares the volumes of servers booting from volumes and, once a server
// is deleted, deletes its attachments (and delete_on_termination volumes).
type VolumeReconciler struct {
	c        *Service
	mu       sync.Mutex
	inflight map[string]bool
	// Poll is how often volume creation is checked (default 500 ms);
	// Timeout bounds the wait (default 10 minutes).
	Poll, Timeout time.Duration
}

// NewVolumeReconciler returns the volume reconciler of c's servers.
func NewVolumeReconciler(c *Service) *VolumeReconciler {
	return &VolumeReconciler{c: c, inflight: map[string]bool{}, Poll: 500 * time.Millisecond, Timeout: 10 * time.Minute}
}

// Run follows the change feed until ctx ends.
func (r *VolumeReconciler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	return r.c.FollowServers(ctx, func(ctx context.Context, ids []string) {
		if r.c.vols() == nil {
			return
		}
		// Most changes need no volume work: find those that may in one
		// read of the servers' gists (reconcile reads each again, whole).
		ids, err := r.c.serversWhere(ctx, ids, []string{"volume_attachments", TaskBlockDeviceMapping}, func(g *serverGist) bool {
			return g.Deleted && len(g.VolumeAttachments) > 0 || g.TaskState == TaskBlockDeviceMapping && !g.Deleted
		})
		if err != nil {
			if ctx.Err() == nil {
				r.c.log.ErrorContext(ctx, "read servers' volume work", logkey.Err, err)
			}
			return
		}
		for _, id := range ids {
			if err := r.reconcile(ctx, id, &wg); err != nil && ctx.Err() == nil {
				r.c.log.ErrorContext(ctx, "reconcile server volumes", "server_id", id, logkey.Err, err)
			}
		}
	})
}

// Reconcile does the volume work one server needs now (synchronously).
func (r *VolumeReconciler) Reconcile(ctx context.Context, id string) error {
	var wg sync.WaitGroup
	err := r.reconcile(ctx, id, &wg)
	wg.Wait()
	return err
}

func (r *VolumeReconciler) reconcile(ctx context.Context, id string, wg *sync.WaitGroup) error {
	s := r.c
	if s.vols() == nil {
		return nil
	}
	var sv *Server
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		sv, err = store.Get[Server](tx, KindServer, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case sv.Deleted && len(sv.VolumeAttachments) > 0,
		sv.TaskState == TaskBlockDeviceMapping && !sv.Deleted:
	default:
		return nil
	}
	r.mu.Lock()
	if r.inflight[id] {
		r.mu.Unlock()
		return nil // the worker re-reads the server when it is done
	}
	r.inflight[id] = true
	r.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var err error
			if sv.Deleted {
				err = r.release(ctx, sv)
			} else {
				err = r.prepare(ctx, sv)
			}
			if err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "server volumes", "server_id", id, logkey.Err, err)
			}
			// Changes made while this worker ran were skipped: look again.
			var again *Server
			if ctx.Err() == nil {
				_ = s.read(ctx, func(tx store.ReadTx) (err error) {
					again, err = store.Get[Server](tx, KindServer, id)
					return err
				})
			}
			if err == nil && again != nil && (again.Deleted && len(again.VolumeAttachments) > 0 && !sv.Deleted) {
				sv = again
				continue
			}
			r.mu.Lock()
			delete(r.inflight, id)
			r.mu.Unlock()
			return
		}
	}()
	return nil
}

// release deletes a deleted server's attachments and its
// delete_on_termination volumes; entries that fail stay for a retry.
func (r *VolumeReconciler) release(ctx context.Context, sv *Server) error {
	s, vs := r.c, r.c.vols()
	sctx := serviceContext(ctx, sv.ProjectID)
	var keep []VolumeAttachment
	var firstErr error
	for _, va := range sv.VolumeAttachments {
		var err error
		if va.AttachmentID != "" {
			if err = vs.DeleteAttachment(sctx, va.AttachmentID); err == nil {
				va.AttachmentID = "" // gone; only the volume may be left
			}
		}
		if err == nil && va.DeleteOnTermination {
			err = r.deleteVolume(ctx, sctx, va.VolumeID)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			keep = append(keep, va)
		}
	}
	werr := s.write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Server](tx, KindServer, sv.ID)
		if err != nil {
			return err
		}
		// Entries added meanwhile (a preparing worker) are kept.
		for _, va := range cur.VolumeAttachments {
			if !slices.ContainsFunc(sv.VolumeAttachments, func(o VolumeAttachment) bool { return o.VolumeID == va.VolumeID }) {
				keep = append(keep, va)
			}
		}
		cur.VolumeAttachments = keep
		return putServer(tx, cur, false)
	})
	if firstErr != nil {
		return firstErr
	}
	return werr
}

// deleteVolume deletes a volume, waiting for it to leave a transitional
// status (creating, downloading, detaching) first.
func (r *VolumeReconciler) deleteVolume(ctx, sctx context.Context, id string) error {
	vs := r.c.vols()
	deadline := time.Now().Add(r.Timeout)
	for {
		err := vs.DeleteVolume(sctx, id)
		if err == nil || !fault.Is(err, fault.BadRequest) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.Poll):
		}
	}
}

// prepare creates, waits for and attaches the volumes of a server in
// block_device_mapping, then hands it to scheduling (or fails it).
func (r *VolumeReconciler) prepare(ctx context.Context, sv *Server) error {
	s, vs := r.c, r.c.vols()
	sctx := serviceContext(ctx, sv.ProjectID)
	bds := volumeBDMs(sv.BlockDevices)
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := err.Error()
		if fe := fault.As(err); fe != nil {
			msg = fe.Msg
		}
		s.failServer(ctx, sv.ID, fmt.Errorf("Build of instance %s aborted: %s", sv.ID, msg))
		return nil
	}
	// Devices: the boot volume is vda, the others vdb, vdc, … in order.
	devices := make([]string, len(bds))
	taken := &Server{}
	for k, bd := range bds {
		if isBoot(bd) {
			devices[k] = "/dev/vda"
		}
	}
	for k := range bds {
		if devices[k] == "" {
			devices[k] = deviceName(taken, "")
		}
		taken.VolumeAttachments = append(taken.VolumeAttachments, VolumeAttachment{Device: devices[k]})
	}
	for k, bd := range bds {
		// Step 1: the volume (recorded at once so a delete finds it).
		if k >= len(sv.VolumeAttachments) {
			va := VolumeAttachment{Device: devices[k], Boot: isBoot(bd), DeleteOnTermination: bd.DeleteOnTermination,
				State: VolumeAttaching, SizeGB: int(bd.VolumeSize)}
			if bd.SourceType == "volume" {
				va.VolumeID = bd.UUID
			} else {
				req := VolumeRequest{SizeGB: int(bd.VolumeSize), Zone: ""}
				switch bd.SourceType {
				case "image":
					req.ImageID = bd.UUID
				case "snapshot":
					req.SnapshotID = bd.UUID
				}
				vol, err := vs.CreateVolume(volumeCtx(ctx, sv), req)
				if err != nil {
					return fail(err)
				}
				va.VolumeID, va.SizeGB = vol.ID, vol.SizeGB
			}
			cur, err := r.update(ctx, sv.ID, func(cur *Server) bool {
				if len(cur.VolumeAttachments) != k {
					return false
				}
				cur.VolumeAttachments = append(cur.VolumeAttachments, va)
				return true
			})
			if err != nil {
				return err
			}
			if cur == nil || cur.Deleted || cur.TaskState != TaskBlockDeviceMapping {
				return nil // deleted or reset meanwhile: release takes over
			}
			sv = cur
		}
		va := sv.VolumeAttachments[k]
		if va.AttachmentID != "" {
			continue
		}
		// Step 2: wait until it is available, then attach it.
		vol, err := r.waitAvailable(ctx, sctx, va.VolumeID)
		if err != nil {
			return fail(err)
		}
		conn, err := vs.Attach(sctx, va.VolumeID, sv.ID, va.Device)
		if err != nil {
			return fail(err)
		}
		if err := vs.CompleteAttachment(sctx, conn.AttachmentID); err != nil {
			_ = vs.DeleteAttachment(sctx, conn.AttachmentID)
			return fail(err)
		}
		cur, err := r.update(ctx, sv.ID, func(cur *Server) bool {
			if k >= len(cur.VolumeAttachments) || cur.VolumeAttachments[k].VolumeID != va.VolumeID {
				return false
			}
			e := &cur.VolumeAttachments[k]
			e.AttachmentID, e.Path, e.Format, e.ReadOnly, e.State, e.SizeGB = conn.AttachmentID, conn.Path, conn.Format, conn.ReadOnly, VolumeAttached, vol.SizeGB
			return true
		})
		if err != nil {
			_ = vs.DeleteAttachment(sctx, conn.AttachmentID)
			return err
		}
		if cur == nil || cur.Deleted || cur.TaskState != TaskBlockDeviceMapping {
			if cur == nil {
				_ = vs.DeleteAttachment(sctx, conn.AttachmentID)
			}
			return nil
		}
		sv = cur
	}
	// Every volume is attached: the server goes to scheduling.
	_, err := r.update(ctx, sv.ID, func(cur *Server) bool {
		if cur.Deleted || cur.TaskState != TaskBlockDeviceMapping {
			return false
		}
		cur.TaskState = TaskScheduling
		return true
	})
	return err
}

// update changes a server in one transaction if fn says so; it returns the
// server as stored (nil if fn declined).
func (r *VolumeReconciler) update(ctx context.Context, id string, fn func(*Server) bool) (*Server, error) {
	s := r.c
	var out *Server
	err := s.write(ctx, func(tx store.Tx) error {
		out = nil
		cur, err := store.Get[Server](tx, KindServer, id)
		if err != nil {
			return err
		}
		if !fn(cur) {
			if cur.Deleted || cur.TaskState != TaskBlockDeviceMapping {
				out = cur
			}
			return nil
		}
		cur.UpdatedAt = s.now()
		out = cur
		return putServer(tx, cur, false)
	})
	return out, err
}

// waitAvailable polls a volume until it is available (or fails).
func (r *VolumeReconciler) waitAvailable(ctx, sctx context.Context, id string) (Volume, error) {
	vs := r.c.vols()
	start := time.Now()
	attempts := 0
	for {
		attempts++
		vol, err := vs.GetVolume(sctx, id)
		if err != nil {
			return vol, err
		}
		switch vol.Status {
		case "available":
			return vol, nil
		case "in-use":
			if vol.Multiattach {
				return vol, nil
			}
		case "creating", "downloading", "restoring-backup", "reserved", "attaching", "detaching":
		default:
			return vol, fmt.Errorf("Volume %s did not finish being created even after we waited %d seconds or %d attempts. And its status is %s.",
				id, int(time.Since(start).Seconds()), attempts, vol.Status)
		}
		if time.Since(start) > r.Timeout {
			return vol, fmt.Errorf("Volume %s did not finish being created even after we waited %d seconds or %d attempts. And its status is %s.",
				id, int(time.Since(start).Seconds()), attempts, vol.Status)
		}
		select {
		case <-ctx.Done():
			return vol, ctx.Err()
		case <-time.After(r.Poll):
		}
	}
}

// snapshotVolumeBacked is createImage of a server booted from a volume,
// as Nova does it: a (forced) snapshot of each attached volume and an
// image without data whose block_device_mapping names the snapshots. The
// image becomes active (empty upload) once the snapshots are available.
func (s *Service) snapshotVolumeBacked(ctx context.Context, sv *Server, name string, metadata map[string]string, extra map[string]any, action string) (string, error) {
	vs := s.vols()
	if vs == nil {
		return "", noVolumes()
	}
	sctx := serviceContext(ctx, sv.ProjectID)
	var snaps []string
	undo := func() {
		for _, id := range snaps {
			_ = vs.DeleteSnapshot(context.WithoutCancel(sctx), id)
		}
	}
	bdms := []map[string]any{}
	for _, va := range sv.VolumeAttachments {
		if va.State != VolumeAttached {
			continue
		}
		sn, err := vs.CreateSnapshot(sctx, va.VolumeID, "snapshot for "+name, "", true)
		if err != nil {
			undo()
			return "", err
		}
		snaps = append(snaps, sn.ID)
		bd := map[string]any{"source_type": "snapshot", "destination_type": "volume", "snapshot_id": sn.ID,
			"volume_size": va.SizeGB, "delete_on_termination": va.DeleteOnTermination, "device_name": va.Device,
			"device_type": "disk", "boot_index": nil, "tag": nil, "disk_bus": nil, "guest_format": nil,
			"volume_id": nil, "image_id": nil, "no_device": nil, "volume_type": nil}
		if va.Boot {
			bd["boot_index"] = 0
		}
		bdms = append(bdms, bd)
	}
	raw, _ := json.Marshal(bdms)
	attrs := map[string]any{"name": name, "container_format": "bare", "disk_format": "qcow2", "visibility": "private",
		"image_type": "snapshot", "instance_uuid": sv.ID, "user_id": creds(ctx).UserID, "bdm_v2": "True",
		"block_device_mapping": string(raw), "root_device_name": "/dev/vda", "min_ram": float64(0), "min_disk": float64(0)}
	for k, v := range extra {
		attrs[k] = v
	}
	for k, v := range metadata {
		attrs[k] = v
	}
	im, err := s.images.Create(ctx, attrs)
	if err != nil {
		undo()
		return "", err
	}
	if _, err := s.instant(ctx, sv.ID, action, func(store.Tx, *Server) error { return nil }); err != nil {
		_ = s.images.Delete(context.WithoutCancel(ctx), im.ID)
		undo()
		return "", err
	}
	bg := context.WithoutCancel(sctx)
	go func() {
		for _, id := range snaps {
			if err := s.waitSnapshot(bg, id); err != nil {
				s.log.WarnContext(bg, "volume-backed snapshot image left queued", "image_id", im.ID, "snapshot_id", id, logkey.Err, err)
				return
			}
		}
		if _, err := s.images.Upload(bg, im.ID, bytes.NewReader(nil), 0); err != nil {
			s.log.WarnContext(bg, "volume-backed snapshot image not activated", "image_id", im.ID, logkey.Err, err)
		}
	}()
	return im.ID, nil
}

// waitSnapshot polls a volume snapshot until it is available (10 min).
func (s *Service) waitSnapshot(ctx context.Context, id string) error {
	vs := s.vols()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		sn, err := vs.GetSnapshot(ctx, id)
		if err != nil {
			return err
		}
		switch sn.Status {
		case "available":
			return nil
		case "creating":
		default:
			return fmt.Errorf("snapshot %s is %s", id, sn.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("snapshot %s still %s", id, sn.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// imageDefinedBDMs expands the block_device_mapping of an image made by
// snapshotVolumeBacked into the request: the server boots from volumes
// made from the image's volume snapshots.
func (s *Service) imageDefinedBDMs(ctx context.Context, req *CreateServerRequest) error {
	if req.ImageRef == "" || s.images == nil || len(volumeBDMs(req.BlockDevices)) > 0 {
		return nil
	}
	im, err := s.images.Get(ctx, req.ImageRef)
	if err != nil || im.Properties["block_device_mapping"] == "" {
		return nil // bootSource reports a missing image
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(im.Properties["block_device_mapping"]), &list); err != nil {
		return badRequest("Block Device Mapping is Invalid: the image's block_device_mapping is not valid JSON.")
	}
	var bds []BlockDevice
	boot := false
	for _, e := range list {
		bd := BlockDevice{DestinationType: "volume"}
		bd.SourceType, _ = e["source_type"].(string)
		if d, _ := e["destination_type"].(string); d != "" {
			bd.DestinationType = d
		}
		for _, k := range []string{"snapshot_id", "volume_id", "image_id", "uuid"} {
			if id, _ := e[k].(string); id != "" && bd.UUID == "" {
				bd.UUID = id
			}
		}
		if n, ok := e["boot_index"].(float64); ok {
			i := int(n)
			bd.BootIndex = &i
			boot = boot || i == 0
		}
		if n, ok := e["volume_size"].(float64); ok {
			bd.VolumeSize = int64(n)
		}
		bd.DeleteOnTermination, _ = e["delete_on_termination"].(bool)
		bds = append(bds, bd)
	}
	if !boot {
		return nil
	}
	req.BlockDevices = append(bds, req.BlockDevices...)
	req.ImageRef = ""
	return nil
}
