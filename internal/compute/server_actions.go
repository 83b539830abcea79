package compute

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/store"
)

// startTask checks action against the server's state, then sets task and
// opens an instance action with event; fn may change more. The host side
// (or the ServerReconciler) finishes the task.
func (s *Service) startTask(ctx context.Context, id, action, task, event string, fn func(tx store.Tx, sv *Server) error) (*Server, error) {
	c := creds(ctx)
	name := action
	if action == ActionRebootHard {
		name = ActionRebootSoft
	}
	return s.mutateServer(ctx, id, action, func(tx store.Tx, sv *Server) error {
		if sv.ActionID != "" { // a task ended by the user (reset, delete): close it
			if err := finishActions(tx, sv, s.now(), "Error"); err != nil {
				return err
			}
		}
		a, err := newAction(tx, sv, name, logkey.RequestIDFrom(ctx), c, s.now(), event)
		if err != nil {
			return err
		}
		sv.ActionID = a.ID
		if sv.VMState != VMResized && task != "" {
			sv.PrevVMState = sv.VMState
		}
		sv.TaskState = task
		sv.Fault = nil
		if fn != nil {
			return fn(tx, sv)
		}
		return nil
	})
}

// now records an action that needs no host work.
func (s *Service) instant(ctx context.Context, id, action string, fn func(tx store.Tx, sv *Server) error) (*Server, error) {
	c := creds(ctx)
	return s.mutateServer(ctx, id, action, func(tx store.Tx, sv *Server) error {
		if err := fn(tx, sv); err != nil {
			return err
		}
		return recordAction(tx, sv, action, logkey.RequestIDFrom(ctx), c, s.now())
	})
}

// Stop powers a server off (os-stop).
func (s *Service) Stop(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionStop, TaskPoweringOff, "compute_stop_instance", nil)
	return err
}

// Start powers a stopped server on (os-start).
func (s *Service) Start(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionStart, TaskPoweringOn, "compute_start_instance", nil)
	return err
}

// Reboot reboots a server, hard or soft.
func (s *Service) Reboot(ctx context.Context, id string, hard bool) error {
	action, task := ActionRebootSoft, TaskRebooting
	if hard {
		action, task = ActionRebootHard, TaskRebootingHard
	}
	_, err := s.startTask(ctx, id, action, task, "compute_reboot_instance", nil)
	return err
}

// Pause, Unpause, Suspend and Resume change the guest's run state.
func (s *Service) Pause(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionPause, TaskPausing, "compute_pause_instance", nil)
	return err
}

// Unpause resumes a paused server.
func (s *Service) Unpause(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionUnpause, TaskUnpausing, "compute_unpause_instance", nil)
	return err
}

// Suspend saves a server's memory and stops it.
func (s *Service) Suspend(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionSuspend, TaskSuspending, "compute_suspend_instance", nil)
	return err
}

// Resume resumes a suspended server.
func (s *Service) Resume(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionResume, TaskResuming, "compute_resume_instance", nil)
	return err
}

// Lock locks a server against non-admin actions.
func (s *Service) Lock(ctx context.Context, id string, reason *string) error {
	c := creds(ctx)
	_, err := s.instant(ctx, id, ActionLock, func(_ store.Tx, sv *Server) error {
		if sv.Locked {
			return nil
		}
		sv.Locked, sv.LockedReason, sv.LockedBy = true, reason, "owner"
		if c.IsAdmin() && c.ProjectID != sv.ProjectID {
			sv.LockedBy = "admin"
		}
		return nil
	})
	return err
}

// Unlock unlocks a server; only an admin may unlock what an admin locked.
func (s *Service) Unlock(ctx context.Context, id string) error {
	c := creds(ctx)
	_, err := s.instant(ctx, id, ActionUnlock, func(_ store.Tx, sv *Server) error {
		if sv.LockedBy == "admin" && !c.IsAdmin() {
			return forbidden()
		}
		sv.Locked, sv.LockedReason, sv.LockedBy = false, nil, ""
		return nil
	})
	return err
}

// RebuildRequest is a rebuild action.
type RebuildRequest struct {
	ImageRef    string
	Name        *string
	Metadata    map[string]string
	AdminPass   string
	Description **string
	KeyName     **string
	UserData    **string
	AccessIPv4  *string
	AccessIPv6  *string
	DiskConfig  *string
}

// Rebuild reinstalls a server from an image.
func (s *Service) Rebuild(ctx context.Context, id string, req RebuildRequest) (*Server, error) {
	cur, err := s.GetServer(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.ImageID == "" && req.ImageRef != "" {
		// Booted from a volume: the image must stay the same (Nova).
		return nil, badRequest("Unable to rebuild volume-backed instance with a new image.")
	}
	if _, _, err := s.bootSource(ctx, CreateServerRequest{ImageRef: req.ImageRef}, &cur.Flavor); err != nil {
		return nil, err
	}
	var keyName *string
	var keyData string
	if req.KeyName != nil && *req.KeyName != nil {
		kp, err := s.GetKeypair(ctx, "", **req.KeyName)
		if err != nil {
			return nil, badRequest("Invalid key_name provided.")
		}
		keyName, keyData = &kp.Name, kp.PublicKey
	}
	return s.startTask(ctx, id, ActionRebuild, TaskRebuilding, "compute_rebuild_instance", func(tx store.Tx, sv *Server) error {
		if req.Metadata != nil {
			if err := s.checkMetadataQuota(tx, sv, len(req.Metadata)); err != nil {
				return err
			}
			sv.Metadata = req.Metadata
		}
		sv.ImageID = req.ImageRef
		if req.Name != nil {
			sv.Name = *req.Name
		}
		if req.Description != nil {
			sv.Description = *req.Description
		}
		if req.KeyName != nil {
			sv.KeyName, sv.KeyData = keyName, keyData
		}
		if req.UserData != nil {
			sv.UserData = *req.UserData
		}
		if req.AccessIPv4 != nil {
			sv.AccessIPv4 = *req.AccessIPv4
		}
		if req.AccessIPv6 != nil {
			sv.AccessIPv6 = *req.AccessIPv6
		}
		if req.DiskConfig != nil {
			sv.DiskConfig = *req.DiskConfig
		}
		return nil
	})
}

// Resize moves a server to another flavor; it waits in VERIFY_RESIZE for
// confirmResize or revertResize. diskConfig (AUTO or MANUAL), if not nil,
// becomes the server's OS-DCF:diskConfig.
func (s *Service) Resize(ctx context.Context, id, flavorRef string, diskConfig *string) error {
	f, err := s.GetFlavor(ctx, flavorRef)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return badRequest("Unable to find flavor: %s", flavorRef)
		}
		return err
	}
	c := creds(ctx)
	_, err = s.startTask(ctx, id, ActionResize, TaskResizePrep, "compute_prep_resize", func(tx store.Tx, sv *Server) error {
		if sv.Flavor.ID == f.ID {
			return badRequest("When resizing, instances must change flavor!")
		}
		if f.Disk < sv.Flavor.Disk && sv.ImageID != "" {
			return badRequest("Resize error: Unable to resize disk down.")
		}
		lim, err := effectiveQuota(tx, sv.ProjectID, sv.UserID)
		if err != nil {
			return err
		}
		counted, err := ensureUsage(tx, sv.ProjectID)
		if err != nil {
			return err
		}
		use := counted.usage()
		for k, d := range map[string]int64{"cores": f.VCPUs - sv.Flavor.VCPUs, "ram": f.RAM - sv.Flavor.RAM} {
			if l := lim[k]; d > 0 && l >= 0 && use[k]+d > l {
				return fault.New(fault.Forbidden, "Quota exceeded for %s: Requested %d, but already used %d of %d %s", k, d, use[k], l, k)
			}
		}
		old := sv.Flavor
		sv.OldFlavor, sv.Flavor, sv.OldHostID = &old, *f, sv.HostID
		if diskConfig != nil {
			sv.DiskConfig = *diskConfig
		}
		return s.newMigration(tx, sv, "resize", old.Seq, f.Seq, c.UserID)
	})
	return err
}

func (s *Service) newMigration(tx store.Tx, sv *Server, typ string, oldSeq, newSeq int64, userID string) error {
	n, err := nextSeq(tx, "migration")
	if err != nil {
		return err
	}
	now := s.now()
	m := &Migration{ID: newID(), Seq: n, ServerID: sv.ID, ProjectID: sv.ProjectID, UserID: userID, Type: typ, Status: "pre-migrating",
		SourceCompute: sv.HostName, SourceNode: sv.NodeName, OldFlavorSeq: oldSeq, NewFlavorSeq: newSeq, CreatedAt: now, UpdatedAt: now}
	if typ == "live-migration" {
		m.Status = "queued"
	}
	sv.MigrationID = m.ID
	return putMigration(tx, m, true)
}

// ConfirmResize keeps the new flavor.
func (s *Service) ConfirmResize(ctx context.Context, id string) error {
	_, err := s.instant(ctx, id, ActionConfirmResize, func(tx store.Tx, sv *Server) error {
		if err := setMigrationStatus(tx, sv.MigrationID, "confirmed", s.now(), nil); err != nil {
			return err
		}
		sv.VMState, sv.OldFlavor, sv.OldHostID, sv.MigrationID = sv.PrevVMState, nil, "", ""
		if sv.VMState == "" {
			sv.VMState = VMActive
		}
		return nil
	})
	return err
}

// RevertResize goes back to the old flavor and host.
func (s *Service) RevertResize(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionRevertResize, TaskResizeReverting, "compute_revert_resize", func(tx store.Tx, sv *Server) error {
		if sv.OldFlavor == nil {
			return conflict("Instance %s has no resize to revert.", sv.ID)
		}
		host := sv.OldHostID
		if host == "" {
			host = sv.HostID
		}
		if err := claim(tx, ClaimRequest{ConsumerID: sv.ID, ProjectID: sv.ProjectID, UserID: sv.UserID, HostID: host, Resources: sv.OldFlavor.Resources()}, s.now()); err != nil {
			return fmt.Errorf("reclaim old flavor: %w", err)
		}
		h, err := store.Get[Host](tx, KindHost, host)
		if err != nil {
			return err
		}
		if err := setMigrationStatus(tx, sv.MigrationID, "reverted", s.now(), nil); err != nil {
			return err
		}
		sv.Flavor, sv.OldFlavor, sv.OldHostID, sv.MigrationID = *sv.OldFlavor, nil, "", ""
		sv.HostID, sv.HostName, sv.NodeName = h.ID, h.Name, h.HypervisorHostname
		return nil
	})
	return err
}

// Migrate cold-migrates a server to another host (admin).
func (s *Service) Migrate(ctx context.Context, id, host string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	c := creds(ctx)
	_, err := s.startTask(ctx, id, ActionMigrate, TaskResizePrep, "compute_prep_resize", func(tx store.Tx, sv *Server) error {
		if host != "" {
			if _, err := hostByName(tx, host); err != nil {
				return err
			}
		}
		old := sv.Flavor
		sv.OldFlavor, sv.OldHostID, sv.ForcedHost = &old, sv.HostID, host
		return s.newMigration(tx, sv, "migration", old.Seq, old.Seq, c.UserID)
	})
	return err
}

// LiveMigrate moves a running server to another host (admin).
func (s *Service) LiveMigrate(ctx context.Context, id, host string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	c := creds(ctx)
	_, err := s.startTask(ctx, id, ActionLiveMigrate, TaskMigrating, "compute_live_migration", func(tx store.Tx, sv *Server) error {
		if host != "" {
			h, err := hostByName(tx, host)
			if err != nil {
				return badRequest("Compute host %s could not be found.", host)
			}
			if h.ID == sv.HostID {
				return badRequest("The supplied target host %s is the same as the server's host.", host)
			}
		}
		sv.OldHostID, sv.ForcedHost = sv.HostID, host
		return s.newMigration(tx, sv, "live-migration", sv.Flavor.Seq, sv.Flavor.Seq, c.UserID)
	})
	return err
}

// CreateImage snapshots a server into a new image (queued until the host
// uploads it) and returns the image ID.
func (s *Service) CreateImage(ctx context.Context, id, name string, metadata map[string]string) (string, error) {
	return s.snapshot(ctx, id, name, metadata, nil, ActionCreateImage)
}

// ActionCreateBackup is Nova's createBackup action.
const ActionCreateBackup = "createBackup"

func init() { actionRules[ActionCreateBackup] = actionRules[ActionCreateImage] }

// CreateBackup snapshots a server as a backup of backupType and keeps only
// the newest rotation backups of that type (0 keeps none but this one).
func (s *Service) CreateBackup(ctx context.Context, id, name, backupType string, rotation int, metadata map[string]string) (string, error) {
	imgID, err := s.snapshot(ctx, id, name, metadata, map[string]any{"image_type": "backup", "backup_type": backupType}, ActionCreateBackup)
	if err != nil {
		return "", err
	}
	list, _, err := s.images.List(ctx, image.ListOptions{Filters: map[string]string{"instance_uuid": id, "backup_type": backupType, "image_type": "backup"},
		SortKeys: []string{"created_at"}, SortDirs: []string{"desc"}, Limit: 1000})
	if err != nil {
		return imgID, nil //nolint:nilerr // rotation is best effort, the backup exists
	}
	keep := max(rotation, 1)
	for i, im := range list {
		if i >= keep && im.ID != imgID {
			_ = s.images.Delete(ctx, im.ID)
		}
	}
	return imgID, nil
}

func (s *Service) snapshot(ctx context.Context, id, name string, metadata map[string]string, extra map[string]any, action string) (string, error) {
	if s.images == nil {
		return "", fault.New(fault.Unavailable, "The Image service is not available.")
	}
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return "", err
	}
	if err := checkState(sv, action, creds(ctx).IsAdmin()); err != nil {
		return "", err
	}
	if sv.ImageID == "" && len(sv.VolumeAttachments) > 0 {
		return s.snapshotVolumeBacked(ctx, sv, name, metadata, extra, action)
	}
	attrs := map[string]any{"name": name, "container_format": "bare", "disk_format": "qcow2", "visibility": "private"}
	if base, err := s.images.Get(ctx, sv.ImageID); err == nil {
		if base.DiskFormat != "" {
			attrs["disk_format"] = base.DiskFormat
		}
		if base.ContainerFormat != "" {
			attrs["container_format"] = base.ContainerFormat
		}
		// Image attributes are decoded JSON values: numbers are float64.
		attrs["min_disk"] = float64(max(base.MinDisk, sv.Flavor.Disk))
		attrs["min_ram"] = float64(base.MinRAM)
	}
	attrs["image_type"] = "snapshot"
	for k, v := range extra {
		attrs[k] = v
	}
	attrs["instance_uuid"] = sv.ID
	attrs["base_image_ref"] = sv.ImageID
	attrs["user_id"] = creds(ctx).UserID
	for k, v := range metadata { // the client's properties win, as in Nova
		attrs[k] = v
	}
	im, err := s.images.Create(ctx, attrs)
	if err != nil {
		return "", err
	}
	_, err = s.startTask(ctx, id, action, TaskImageSnapshot, "compute_snapshot_instance", func(_ store.Tx, sv *Server) error {
		sv.SnapshotImageID = im.ID
		return nil
	})
	if err != nil {
		_ = s.images.Delete(context.WithoutCancel(ctx), im.ID)
		return "", err
	}
	return im.ID, nil
}

// Shelve stops a server and frees its host (shelved_offload_time 0: it is
// offloaded at once, SHELVED_OFFLOADED).
func (s *Service) Shelve(ctx context.Context, id string) error {
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return err
	}
	if err := checkState(sv, ActionShelve, creds(ctx).IsAdmin()); err != nil {
		return err
	}
	// Nova keeps a "<name>-shelved" snapshot of an image-backed server
	// until it is unshelved.
	snap := ""
	if s.images != nil && sv.ImageID != "" {
		im, err := s.images.Create(ctx, map[string]any{"name": sv.Name + "-shelved", "container_format": "bare", "disk_format": "raw",
			"visibility": "private", "image_type": "snapshot", "instance_uuid": sv.ID, "base_image_ref": sv.ImageID})
		if err != nil {
			return err
		}
		snap = im.ID
	}
	_, err = s.startTask(ctx, id, ActionShelve, TaskShelving, "compute_shelve_instance", func(_ store.Tx, sv *Server) error {
		sv.SnapshotImageID, sv.ShelvedImageID = snap, snap
		return nil
	})
	if err != nil && snap != "" {
		_ = s.images.Delete(context.WithoutCancel(ctx), snap)
	}
	return err
}

// ShelveOffload frees the host of a shelved server.
func (s *Service) ShelveOffload(ctx context.Context, id string) error {
	_, err := s.instant(ctx, id, ActionShelveOffload, func(tx store.Tx, sv *Server) error {
		return offload(tx, sv)
	})
	return err
}

func offload(tx store.Tx, sv *Server) error {
	if err := tx.Delete(KindAllocation, sv.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	sv.VMState, sv.PowerState = VMShelvedOffloaded, PowerShutdown
	sv.HostID, sv.HostName, sv.NodeName = "", "", ""
	return nil
}

// Unshelve brings a shelved server back (scheduled again if offloaded).
func (s *Service) Unshelve(ctx context.Context, id, zone string) error {
	_, err := s.startTask(ctx, id, ActionUnshelve, TaskUnshelving, "compute_unshelve_instance", func(_ store.Tx, sv *Server) error {
		if zone != "" {
			if sv.VMState != VMShelvedOffloaded {
				return conflict("The availability_zone can only be given for a SHELVED_OFFLOADED server.")
			}
			sv.AvailabilityZone, sv.RequestedZone = zone, zone
		}
		return nil
	})
	return err
}

// Rescue boots a server from a rescue image; it returns the admin password.
func (s *Service) Rescue(ctx context.Context, id, imageRef, adminPass string) (string, error) {
	if imageRef != "" {
		cur, err := s.GetServer(ctx, id)
		if err != nil {
			return "", err
		}
		if _, _, err := s.bootSource(ctx, CreateServerRequest{ImageRef: imageRef}, &cur.Flavor); err != nil {
			return "", err
		}
	}
	if adminPass == "" {
		adminPass = randomString(12, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
	}
	_, err := s.startTask(ctx, id, ActionRescue, TaskRescuing, "compute_rescue_instance", func(_ store.Tx, sv *Server) error {
		if sv.ImageID == "" {
			return badRequest("Cannot rescue a volume-backed instance")
		}
		sv.RescueImageID = imageRef
		return nil
	})
	return adminPass, err
}

// Unrescue returns a rescued server to its own disk.
func (s *Service) Unrescue(ctx context.Context, id string) error {
	_, err := s.startTask(ctx, id, ActionUnrescue, TaskUnrescuing, "compute_unrescue_instance", nil)
	return err
}

// ResetState sets vm_state to active or error and clears the task (admin).
func (s *Service) ResetState(ctx context.Context, id, state string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	if state != VMActive && state != VMError {
		return badRequest("Invalid input for field/attribute state. Value: %s. '%s' is not one of ['active', 'error']", state, state)
	}
	_, err := s.instant(ctx, id, ActionResetState, func(tx store.Tx, sv *Server) error {
		if err := finishActions(tx, sv, s.now(), "Error"); err != nil {
			return err
		}
		sv.VMState, sv.TaskState = state, ""
		return nil
	})
	return err
}

// ChangePassword sets the guest's admin password.
func (s *Service) ChangePassword(ctx context.Context, id, pass string) error {
	_, err := s.startTask(ctx, id, ActionChangePassword, TaskUpdatingPassword, "compute_set_admin_password", nil)
	return err
}

// AddSecurityGroup adds a security group (by name) to a server.
func (s *Service) AddSecurityGroup(ctx context.Context, id, name string) error {
	if s.ports != nil {
		if _, err := s.ports.SecurityGroupID(ctx, name); err != nil {
			return err
		}
	}
	_, err := s.instant(ctx, id, ActionAddSecGroup, func(_ store.Tx, sv *Server) error {
		if slices.Contains(sv.SecurityGroups, name) {
			return badRequest("Security group %s is already associated with the instance %s", name, sv.ID)
		}
		sv.SecurityGroups = append(sv.SecurityGroups, name)
		return nil
	})
	return err
}

// RemoveSecurityGroup removes a security group (by name) from a server.
func (s *Service) RemoveSecurityGroup(ctx context.Context, id, name string) error {
	_, err := s.instant(ctx, id, ActionRemoveSecGroup, func(_ store.Tx, sv *Server) error {
		if !slices.Contains(sv.SecurityGroups, name) {
			return badRequest("Security group %s not associated with the instance %s", name, sv.ID)
		}
		sv.SecurityGroups = slices.DeleteFunc(sv.SecurityGroups, func(g string) bool { return g == name })
		return nil
	})
	return err
}

// ErrNoConsole is what a Consoles returns for a host it does not serve.
var ErrNoConsole = errors.New("compute: no console reader for this host")

// Consoles reads guests' serial consoles on their hosts.
type Consoles interface {
	// ConsoleOutput returns the last lines (≤0: all) of a server's serial
	// console on host hostID, or ErrNoConsole if it cannot reach that host.
	ConsoleOutput(ctx context.Context, hostID, serverID string, lines int) (string, error)
}

// SetConsoles sets where real hosts' consoles are read.
func (s *Service) SetConsoles(c Consoles) { s.consoles = c }

// ConsoleOutput returns the last length lines (≤0: all) of the server's
// serial console, read on its host. The fake host has no guest: it shows a
// synthetic boot log.
func (s *Service) ConsoleOutput(ctx context.Context, id string, length int) (string, error) {
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return "", err
	}
	if sv.HostID == "" {
		return "", conflict("Instance %s is not ready", sv.ID)
	}
	if s.consoles != nil {
		out, err := s.consoles.ConsoleOutput(ctx, sv.HostID, sv.ID, length)
		if err == nil {
			return tailLines(out, length), nil
		}
		if !errors.Is(err, ErrNoConsole) {
			return "", err
		}
	}
	if hs, err := s.ServerOnHost(ctx, sv.ID); err != nil {
		return "", err
	} else if hs == nil || hs.Driver != "fake" {
		return "", conflict("The console of instance %s is not available from its host", sv.ID)
	}
	lines := []string{
		"[    0.000000] Linux version 6.1.0 (nubo fake host: no real guest runs here)",
		fmt.Sprintf("[    0.100000] Hostname: %s", sv.Hostname),
		fmt.Sprintf("[    0.200000] Flavor: %s (%d vCPU, %d MB RAM)", sv.Flavor.Name, sv.Flavor.VCPUs, sv.Flavor.RAM),
		fmt.Sprintf("[    0.300000] Image: %s", sv.ImageID),
		"[    1.000000] cloud-init: finished",
		fmt.Sprintf("%s login:", sv.Hostname),
	}
	return tailLines(strings.Join(lines, "\n"), length), nil
}

// tailLines is Nova's tail of a console log: the last n of its
// "\n"-separated fields (a log ending in a newline has an empty last one,
// so n = 3 gives its last two lines and that newline), "" for n = 0, all
// of it for n < 0.
func tailLines(log string, n int) string {
	switch {
	case n < 0:
		return log
	case n == 0:
		return ""
	}
	fields := strings.Split(log, "\n")
	if n < len(fields) {
		fields = fields[len(fields)-n:]
	}
	return strings.Join(fields, "\n")
}

// ConsoleToken is a remote-console token (the console proxy validates it).
type ConsoleToken struct {
	ID        string    `json:"id"`
	ServerID  string    `json:"server_id"`
	Protocol  string    `json:"protocol"`
	Type      string    `json:"type"`
	ExpiresAt time.Time `json:"expires_at"`
}

const kindConsoleToken = "compute.console_token"

// RemoteConsole issues a console token for a server (vnc/novnc only).
func (s *Service) RemoteConsole(ctx context.Context, id, protocol, typ string) (*ConsoleToken, error) {
	if protocol != "vnc" || (typ != "novnc" && typ != "xvpvnc") {
		return nil, fault.New(fault.BadRequest, "Unavailable console type %s.", typ)
	}
	var tok *ConsoleToken
	_, err := s.mutateServer(ctx, id, ActionRemoteConsole, func(tx store.Tx, sv *Server) error {
		if sv.HostID == "" || sv.VMState == VMBuilding {
			return conflict("Instance %s is not ready", sv.ID)
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		tok = &ConsoleToken{ID: hex.EncodeToString(b), ServerID: sv.ID, Protocol: protocol, Type: typ, ExpiresAt: s.now().Add(10 * time.Minute)}
		return tx.Create(store.Record{Kind: kindConsoleToken, ID: tok.ID, Ref: sv.ID, Value: tok})
	})
	return tok, err
}

// AttachInterface adds a port to a server (os-interface).
func (s *Service) AttachInterface(ctx context.Context, id string, req NetworkRequest) (*Port, error) {
	if s.ports == nil {
		return nil, fault.New(fault.NotImplemented, "Network interface attachment needs the Networking service.")
	}
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkState(sv, ActionAttachInterface, creds(ctx).IsAdmin()); err != nil {
		return nil, err
	}
	tmp := *sv
	tmp.Networks = []NetworkRequest{req}
	ports, err := s.allocatePorts(ctx, &tmp, nil)
	if err != nil {
		return nil, err
	}
	p := ports[0]
	_, err = s.startTask(ctx, id, ActionAttachInterface, TaskInterfaceAttach, "compute_attach_interface", func(_ store.Tx, sv *Server) error {
		sv.Ports = append(sv.Ports, p)
		return nil
	})
	if err != nil {
		_ = s.ports.DeletePort(context.WithoutCancel(ctx), p.ID)
		return nil, err
	}
	_ = s.ports.BindPort(ctx, p.ID, sv.ID, sv.AvailabilityZone, sv.HostName)
	return &p, nil
}

// DetachInterface removes a port from a server.
func (s *Service) DetachInterface(ctx context.Context, id, portID string) error {
	var gone *Port
	_, err := s.startTask(ctx, id, ActionDetachInterface, TaskInterfaceDetach, "compute_detach_interface", func(_ store.Tx, sv *Server) error {
		i := slices.IndexFunc(sv.Ports, func(p Port) bool { return p.ID == portID })
		if i < 0 {
			return notFound("Port %s is not attached", portID)
		}
		p := sv.Ports[i]
		gone = &p
		sv.Ports = slices.Delete(sv.Ports, i, i+1)
		return nil
	})
	if err != nil || s.ports == nil {
		return err
	}
	if gone.Preexisting {
		return s.ports.BindPort(ctx, gone.ID, "", "", "")
	}
	return s.ports.DeletePort(ctx, gone.ID)
}

// ServerPorts returns a server's ports (interfaces and addresses).
func (s *Service) ServerPorts(ctx context.Context, id string) ([]Port, error) {
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return nil, err
	}
	return sv.Ports, nil
}

// ErrInvalidConsoleToken is ConsoleTarget's answer for a token that opens
// nothing.
var ErrInvalidConsoleToken = errors.New("compute: invalid console token")

// ConsoleTarget returns the server and host a console token opens: the
// token exists and has not expired, and its server is not deleted and is
// on a host. The token is the caller's only credential (the console
// proxy's WebSocket carries no X-Auth-Token); it stays valid until it
// expires.
func (s *Service) ConsoleTarget(ctx context.Context, token string) (serverID, hostID string, err error) {
	if token == "" {
		return "", "", ErrInvalidConsoleToken
	}
	err = s.read(ctx, func(tx store.ReadTx) error {
		tok, err := store.Get[ConsoleToken](tx, kindConsoleToken, token)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidConsoleToken
		}
		if err != nil {
			return err
		}
		if !s.now().Before(tok.ExpiresAt) {
			return ErrInvalidConsoleToken
		}
		sv, err := store.Get[Server](tx, KindServer, tok.ServerID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (sv.Deleted || sv.HostID == "") {
			return ErrInvalidConsoleToken
		}
		if err != nil {
			return err
		}
		serverID, hostID = sv.ID, sv.HostID
		return nil
	})
	return serverID, hostID, err
}
