package compute

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Images is what servers need from the Image service (*image.Service).
type Images interface {
	Get(ctx context.Context, id string) (*image.Image, error)
	Create(ctx context.Context, attrs map[string]any) (*image.Image, error)
	Upload(ctx context.Context, id string, r io.Reader, size int64) (*image.Image, error)
	Download(ctx context.Context, id string) (io.ReadSeekCloser, int64, *image.Image, error)
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, o image.ListOptions) ([]image.Image, bool, error)
}

// SetPorts wires Networking (nil: none).
func (s *Service) SetPorts(p Ports) { s.ports = p }

// SetImages wires the Image service.
func (s *Service) SetImages(im Images) { s.images = im }

// MaxUserDataBytes caps user_data as Nova does (65535 base64 bytes).
const MaxUserDataBytes = 65535

// CreateServerRequest is a validated create body (microversion rules are
// the API's job).
type CreateServerRequest struct {
	Name             string
	Description      *string
	ImageRef         string
	FlavorRef        string
	KeyName          string
	UserData         *string
	Metadata         map[string]string
	AvailabilityZone string
	ConfigDrive      bool
	MinCount         int
	MaxCount         int
	Tags             []string
	// Networks is nil for no preference, empty with NoNetwork for "none".
	Networks       []NetworkRequest
	NoNetwork      bool
	SecurityGroups []string
	BlockDevices   []BlockDevice
	AccessIPv4     string
	AccessIPv6     string
	DiskConfig     string
	AdminPass      string
	// Group is the server group hint.
	Group string
	// SameHost and DifferentHost are the same_host and different_host
	// hints (server IDs).
	SameHost, DifferentHost []string
}

// CreateServerResult is what a create returns.
type CreateServerResult struct {
	Servers       []*Server
	ReservationID string
	AdminPass     string
}

func serverNotFound(id string) error { return notFound("Instance %s could not be found.", id) }

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

var hostnameBad = regexp.MustCompile(`[^a-z0-9-]+`)

// sanitizeHostname turns a display name into a hostname, as Nova does.
func sanitizeHostname(name string) string {
	// Spaces, underscores and periods become dashes (periods since Nova
	// 23: a hostname is one DNS label).
	h := strings.ToLower(strings.NewReplacer(" ", "-", "_", "-", ".", "-").Replace(name))
	h = hostnameBad.ReplaceAllString(h, "")
	h = strings.Trim(h, ".-")
	if len(h) > 63 {
		h = h[:63]
	}
	if h == "" {
		h = "server"
	}
	return h
}

// CreateServer validates req, checks quotas and writes the servers with
// status BUILD in one transaction; the ServerReconciler schedules them.
func (s *Service) CreateServer(ctx context.Context, req CreateServerRequest) (*CreateServerResult, error) {
	c := creds(ctx)
	if c == nil || c.ProjectID == "" || !c.HasRole(policy.RoleMember) {
		return nil, forbidden()
	}
	if req.MinCount < 1 {
		req.MinCount = 1
	}
	if req.MaxCount < req.MinCount {
		req.MaxCount = req.MinCount
	}
	if req.UserData != nil {
		if len(*req.UserData) > MaxUserDataBytes {
			return nil, badRequest("User data too large. User data must be no larger than %d bytes once base64 encoded. Your data is %d bytes", MaxUserDataBytes, len(*req.UserData))
		}
		if _, err := base64.StdEncoding.DecodeString(*req.UserData); err != nil {
			return nil, badRequest("User data needs to be valid base 64.")
		}
	}
	flavor, err := s.GetFlavor(ctx, req.FlavorRef)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil, badRequest("Flavor %s could not be found.", req.FlavorRef)
		}
		return nil, err
	}
	if flavor.Disabled {
		return nil, badRequest("Flavor is disabled.")
	}
	if err := s.imageDefinedBDMs(ctx, &req); err != nil {
		return nil, err
	}
	imageID, imgProps, err := s.bootSource(ctx, req, flavor)
	if err != nil {
		return nil, err
	}
	var keyName *string
	var keyData string
	if req.KeyName != "" {
		kp, err := s.GetKeypair(ctx, "", req.KeyName)
		if err != nil {
			return nil, badRequest("Invalid key_name provided.")
		}
		keyName, keyData = &kp.Name, kp.PublicKey
	}
	zone, forcedHost, err := s.checkZone(ctx, req.AvailabilityZone)
	if err != nil {
		return nil, err
	}
	if req.Group != "" {
		if _, err := s.GetServerGroup(ctx, req.Group); err != nil {
			return nil, badRequest("Invalid server group %s.", req.Group)
		}
	}
	sgs := req.SecurityGroups
	if len(sgs) == 0 {
		sgs = []string{"default"}
	}
	if s.ports != nil && len(req.SecurityGroups) > 0 {
		for _, g := range req.SecurityGroups {
			if _, err := s.ports.SecurityGroupID(ctx, g); err != nil {
				if fault.Is(err, fault.NotFound) {
					return nil, badRequest("Security group %s not found.", g)
				}
				return nil, err
			}
		}
	}
	if req.AdminPass == "" {
		req.AdminPass = randomString(12, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
	}
	now := s.now()
	res := &CreateServerResult{ReservationID: "r-" + randomString(8, "abcdefghijklmnopqrstuvwxyz0123456789"), AdminPass: req.AdminPass}
	rid := logkey.RequestIDFrom(ctx)
	var portsMade []Port
	err = s.write(ctx, func(tx store.Tx) error {
		res.Servers = nil
		lim, err := effectiveQuota(tx, c.ProjectID, c.UserID)
		if err != nil {
			return err
		}
		counted, err := ensureUsage(tx, c.ProjectID)
		if err != nil {
			return err
		}
		use := counted.usage()
		if l := lim["metadata_items"]; l >= 0 && int64(len(req.Metadata)) > l {
			return fault.New(fault.Forbidden, "Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", len(req.Metadata), l)
		}
		count := req.MaxCount
		for count >= req.MinCount {
			if over := overQuota(lim, use, flavor, count); over == "" {
				break
			}
			count--
		}
		if count < req.MinCount {
			over := overQuota(lim, use, flavor, req.MinCount)
			need := map[string]int64{"instances": int64(req.MinCount), "cores": flavor.VCPUs * int64(req.MinCount), "ram": flavor.RAM * int64(req.MinCount)}
			return fault.New(fault.Forbidden, "Quota exceeded for %s: Requested %d, but already used %d of %d %s", over, need[over], use[over], lim[over], over)
		}
		var group *ServerGroup
		if req.Group != "" {
			group, err = get[ServerGroup](tx, KindServerGroup, req.Group, "Instance group "+req.Group+" could not be found.")
			if err != nil {
				return badRequest("Invalid server group %s.", req.Group)
			}
			if l := lim["server_group_members"]; l >= 0 && int64(len(group.Members)+count) > l {
				return fault.New(fault.Forbidden, "Quota exceeded, too many servers in group")
			}
		}
		for i := range count {
			sv := &Server{
				ID: newID(), Name: req.Name, ProjectID: c.ProjectID, UserID: c.UserID, Flavor: *flavor,
				AvailabilityZone: zone, RequestedZone: zone, Status: "BUILD", ServerGroupID: req.Group, SameHost: req.SameHost, DifferentHost: req.DifferentHost, CreatedAt: now, UpdatedAt: now,
				Description: req.Description, ImageID: imageID, KeyName: keyName, KeyData: keyData,
				UserData: req.UserData, Metadata: req.Metadata, Tags: req.Tags, AccessIPv4: req.AccessIPv4,
				AccessIPv6: req.AccessIPv6, ConfigDrive: req.ConfigDrive, DiskConfig: req.DiskConfig,
				SecurityGroups: sgs, Networks: req.Networks, BlockDevices: req.BlockDevices,
				ReservationID: res.ReservationID, LaunchIndex: i, VMState: VMBuilding, TaskState: TaskScheduling,
				ForcedHost: forcedHost,
			}
			if len(volumeBDMs(req.BlockDevices)) > 0 {
				sv.TaskState = TaskBlockDeviceMapping // volumes first (volumes.go)
			}
			if sv.DiskConfig == "" {
				sv.DiskConfig = "MANUAL"
			}
			if count > 1 {
				sv.Name = fmt.Sprintf("%s-%d", req.Name, i+1)
			}
			sv.Hostname = sanitizeHostname(sv.Name)
			if sv.Seq, err = nextSeq(tx, "server"); err != nil {
				return err
			}
			if imgProps != nil && sv.Metadata == nil {
				sv.Metadata = map[string]string{}
			}
			if group != nil {
				group.Members = append(group.Members, sv.ID)
			}
			act, err := newAction(tx, sv, ActionCreate, rid, c, now, "conductor_schedule_and_build_instances")
			if err != nil {
				return err
			}
			sv.ActionID = act.ID
			if err := putServer(tx, sv, true); err != nil {
				return err
			}
			res.Servers = append(res.Servers, sv)
		}
		if group != nil {
			if err := tx.Update(store.Record{Kind: KindServerGroup, ID: group.ID, Ref: group.ProjectID, Value: group}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Ports are made after the servers exist, so a failure shows on the
	// server (ERROR with a fault) rather than leaking ports.
	for _, sv := range res.Servers {
		made, perr := s.allocatePorts(ctx, sv, req.SecurityGroups)
		portsMade = append(portsMade, made...)
		if perr != nil {
			// Nova answers a create naming a missing network or port, or
			// a fixed IP in use, with 400.
			if fe := fault.As(perr); fe != nil && (fe.Kind == fault.NotFound || fe.Type == "FixedIpAlreadyInUse") {
				perr = badRequest("%s", fe.Msg)
			}
			s.failServer(context.WithoutCancel(ctx), sv.ID, perr)
			if len(res.Servers) == 1 {
				// One server: the client gets the network error, as from Nova.
				_ = s.deleteNow(context.WithoutCancel(ctx), sv.ID)
				return nil, perr
			}
			continue
		}
		if len(made) > 0 {
			if err := s.setPorts(ctx, sv.ID, made); err != nil {
				return nil, err
			}
			sv.Ports = made
		}
	}
	return res, nil
}

// overQuota names the first quota count servers of flavor would pass.
func overQuota(lim, use map[string]int64, f *Flavor, count int) string {
	need := map[string]int64{"instances": int64(count), "cores": f.VCPUs * int64(count), "ram": f.RAM * int64(count)}
	for _, k := range []string{"instances", "cores", "ram"} {
		if l := lim[k]; l >= 0 && use[k]+need[k] > l {
			return k
		}
	}
	return ""
}

// bootSource checks imageRef or the boot block device and returns the
// image ID ("" when booting from a volume) and the image's properties.
func (s *Service) bootSource(ctx context.Context, req CreateServerRequest, f *Flavor) (string, map[string]string, error) {
	imageID := req.ImageRef
	// volumeBoot: the root disk is a volume (volumes.go); the image, if
	// any, is what that volume is made from, and the server has none.
	volumeBoot := false
	for _, bd := range req.BlockDevices {
		switch bd.SourceType {
		case "volume", "snapshot":
			if bd.DestinationType != "volume" {
				return "", nil, badRequest("Block Device Mapping is Invalid: Mapping image to local is not supported.")
			}
			if isBoot(bd) {
				imageID, volumeBoot = "", true
			}
		case "image":
			if isBoot(bd) {
				imageID, volumeBoot = bd.UUID, bd.DestinationType == "volume"
			}
		case "blank":
		default:
			return "", nil, badRequest("Block Device Mapping is Invalid: unknown source_type %s.", bd.SourceType)
		}
	}
	if err := s.checkBootVolumes(ctx, req); err != nil {
		return "", nil, err
	}
	if volumeBoot && imageID == "" {
		return "", map[string]string{}, nil
	}
	if imageID == "" {
		return "", nil, badRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
	}
	if s.images == nil {
		return "", nil, fault.New(fault.Unavailable, "The Image service is not available.")
	}
	im, err := s.images.Get(ctx, imageID)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return "", nil, badRequest("Image %s could not be found.", imageID)
		}
		return "", nil, err
	}
	if im.Status != image.StatusActive {
		return "", nil, badRequest("Image %s is not active.", imageID)
	}
	if im.MinRAM > f.RAM {
		return "", nil, badRequest("Flavor's memory is too small for requested image.")
	}
	if volumeBoot {
		return "", im.Properties, nil // the volume's size is the root disk's
	}
	if im.MinDisk > f.Disk && f.Disk > 0 {
		return "", nil, badRequest("Flavor's disk is too small for requested image.")
	}
	if im.Size != nil && f.Disk > 0 && *im.Size > f.Disk<<30 {
		return "", nil, badRequest("Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.", f.Disk<<30, *im.Size)
	}
	return imageID, im.Properties, nil
}

// checkZone validates an availability_zone ("zone", "zone:host" or
// "zone::node" for admins) and returns the zone and forced host.
func (s *Service) checkZone(ctx context.Context, az string) (string, string, error) {
	if az == "" {
		return "", "", nil
	}
	zone, host, _ := strings.Cut(az, ":")
	host, _, _ = strings.Cut(host, ":")
	if host != "" && !creds(ctx).IsAdmin() {
		return "", "", forbidden()
	}
	var ok bool
	err := s.read(ctx, func(tx store.ReadTx) error {
		zones, _, err := hostZones(tx)
		if err != nil {
			return err
		}
		hosts, err := store.List[Host](tx, KindHost, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, h := range hosts {
			z := zones[h.Name]
			if z == "" {
				z = DefaultZone
			}
			if (zone == "" || z == zone) && (host == "" || h.Name == host) {
				ok = true
			}
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	if !ok {
		if host != "" {
			return "", "", badRequest("No valid host was found. Compute host %s could not be found.", host)
		}
		return "", "", badRequest("The requested availability zone is not available")
	}
	return zone, host, nil
}

func putServer(tx store.Tx, sv *Server, create bool) error {
	sv.Status = storedStatus(sv)
	return putServerCounted(tx, sv, create, func() error {
		rec := store.Record{Kind: KindServer, ID: sv.ID, Ref: sv.ProjectID, Unique: []string{seqKey(sv.Seq)}, Value: sv}
		if create {
			return tx.Create(rec)
		}
		return tx.Update(rec)
	})
}

// storedStatus keeps the stored Status field (which part 1 reads) in step.
func storedStatus(sv *Server) string {
	if sv.Deleted {
		return "DELETED"
	}
	return statusOf(sv.VMState, sv.TaskState)
}

// visible reports whether the caller may see sv.
func visible(c *policy.Credentials, sv *Server) bool {
	return c.IsReader() || c.OwnsProject(sv.ProjectID)
}

// readServer reads a live server the caller may see.
func readServer(tx store.ReadTx, c *policy.Credentials, id string) (*Server, error) {
	sv, err := store.Get[Server](tx, KindServer, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, serverNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if sv.Deleted || !visible(c, sv) {
		return nil, serverNotFound(id)
	}
	return sv, nil
}

// GetServer returns a server the caller may see; deleted servers are 404.
func (s *Service) GetServer(ctx context.Context, id string) (*Server, error) {
	var sv *Server
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		sv, err = readServer(tx, creds(ctx), id)
		return err
	})
	return sv, err
}

// mutateServer changes a server in one write transaction after checking
// the caller may change it and that action may start from its state.
func (s *Service) mutateServer(ctx context.Context, id, action string, fn func(tx store.Tx, sv *Server) error) (*Server, error) {
	c := creds(ctx)
	var sv *Server
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if sv, err = readServer(tx, c, id); err != nil {
			return err
		}
		if !c.CanWriteProject(sv.ProjectID) {
			return forbidden()
		}
		if err := checkState(sv, action, c.IsAdmin()); err != nil {
			return err
		}
		if err := fn(tx, sv); err != nil {
			return err
		}
		sv.UpdatedAt = s.now()
		return putServer(tx, sv, false)
	})
	if err != nil {
		return nil, err
	}
	return sv, nil
}

// ServerUpdate changes a server's user-settable fields (nil: unchanged).
type ServerUpdate struct {
	Name        *string
	Description **string
	AccessIPv4  *string
	AccessIPv6  *string
	DiskConfig  *string
}

// UpdateServer applies u.
func (s *Service) UpdateServer(ctx context.Context, id string, u ServerUpdate) (*Server, error) {
	return s.mutateServer(ctx, id, ActionUpdate, func(tx store.Tx, sv *Server) error {
		if u.Name != nil {
			sv.Name = *u.Name
		}
		if u.Description != nil {
			sv.Description = *u.Description
		}
		if u.AccessIPv4 != nil {
			sv.AccessIPv4 = *u.AccessIPv4
		}
		if u.AccessIPv6 != nil {
			sv.AccessIPv6 = *u.AccessIPv6
		}
		if u.DiskConfig != nil {
			sv.DiskConfig = *u.DiskConfig
		}
		return nil
	})
}

// DeleteServer asks for the server's deletion: a server on a host is
// destroyed there first (task deleting); one without a host is deleted
// at once. Afterwards it is 404.
func (s *Service) DeleteServer(ctx context.Context, id string, force bool) error {
	action := ActionDelete
	if force {
		action = ActionForceDelete
	}
	c := creds(ctx)
	_, err := s.mutateServer(ctx, id, action, func(tx store.Tx, sv *Server) error {
		if _, err := newAction(tx, sv, ActionDelete, logkey.RequestIDFrom(ctx), c, s.now(), "compute_terminate_instance"); err != nil {
			return err
		}
		if sv.HostID == "" {
			return finishDelete(tx, sv, s.now())
		}
		sv.TaskState = TaskDeleting
		return nil
	})
	return err
}

// deleteNow deletes a server without policy checks (a failed create).
func (s *Service) deleteNow(ctx context.Context, id string) error {
	return s.write(ctx, func(tx store.Tx) error {
		sv, err := store.Get[Server](tx, KindServer, id)
		if err != nil {
			return err
		}
		if err := finishDelete(tx, sv, s.now()); err != nil {
			return err
		}
		return putServer(tx, sv, false)
	})
}

// finishDelete marks sv deleted (the caller writes it), releases its
// allocation and group membership, and closes its open actions.
func finishDelete(tx store.Tx, sv *Server, now time.Time) error {
	if err := tx.Delete(KindAllocation, sv.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if sv.ServerGroupID != "" {
		g, err := store.Get[ServerGroup](tx, KindServerGroup, sv.ServerGroupID)
		if err == nil {
			g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == sv.ID })
			if err := tx.Update(store.Record{Kind: KindServerGroup, ID: g.ID, Ref: g.ProjectID, Value: g}); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := finishActions(tx, sv, now, "Success"); err != nil {
		return err
	}
	sv.Deleted, sv.VMState, sv.TaskState, sv.PowerState = true, VMDeleted, "", PowerNoState
	sv.TerminatedAt, sv.UpdatedAt = &now, now
	sv.HostID, sv.HostName, sv.NodeName = "", "", ""
	return nil
}

// failServer puts a server in ERROR with a fault.
func (s *Service) failServer(ctx context.Context, id string, cause error) {
	msg := cause.Error()
	code := 500
	if fe := fault.As(cause); fe != nil {
		msg, code = fe.Msg, fe.Kind.Status()
	}
	err := s.write(ctx, func(tx store.Tx) error {
		sv, err := store.Get[Server](tx, KindServer, id)
		if err != nil {
			return err
		}
		now := s.now()
		sv.VMState, sv.TaskState = VMError, ""
		sv.Fault = &ServerFault{Code: code, Message: msg, Created: now.Format("2006-01-02T15:04:05Z")}
		if err := finishActions(tx, sv, now, "Error"); err != nil {
			return err
		}
		sv.UpdatedAt = now
		return putServer(tx, sv, false)
	})
	if err != nil {
		s.log.ErrorContext(ctx, "server not marked as failed", "server_id", id, logkey.Err, err)
	}
}

// allocatePorts creates or binds the server's ports per its networks.
func (s *Service) allocatePorts(ctx context.Context, sv *Server, sgNames []string) ([]Port, error) {
	if s.ports == nil || len(sv.Networks) == 0 {
		return nil, nil
	}
	var sgIDs []string
	for _, n := range sgNames {
		id, err := s.ports.SecurityGroupID(ctx, n)
		if err != nil {
			return nil, err
		}
		sgIDs = append(sgIDs, id)
	}
	var made []Port
	undo := func() {
		for _, p := range made {
			if p.Preexisting {
				_ = s.ports.BindPort(context.WithoutCancel(ctx), p.ID, "", "", "")
			} else {
				_ = s.ports.DeletePort(context.WithoutCancel(ctx), p.ID)
			}
		}
	}
	for _, n := range sv.Networks {
		var p Port
		var err error
		switch {
		case n.Port != "":
			p, err = s.ports.GetPort(ctx, n.Port)
			if err == nil && p.DeviceID != "" && p.DeviceID != sv.ID {
				err = conflict("Port %s is still in use.", n.Port)
			}
			p.Preexisting = true
		default:
			net := n.UUID
			if n.Auto || n.Default {
				net, err = s.ports.AutoNetwork(ctx)
				if n.Default && fault.Is(err, fault.BadRequest) {
					continue // nothing to choose from: no port, as Nova
				}
			}
			if err == nil {
				p, err = s.ports.CreatePort(ctx, PortRequest{NetworkID: net, FixedIP: n.FixedIP, SecurityGroups: sgIDs, ProjectID: sv.ProjectID, Tag: n.Tag})
			}
		}
		if err == nil {
			err = s.ports.BindPort(ctx, p.ID, sv.ID, sv.AvailabilityZone, "")
		}
		if err != nil {
			undo()
			return nil, err
		}
		made = append(made, p)
	}
	return made, nil
}

func (s *Service) setPorts(ctx context.Context, id string, ports []Port) error {
	var cur *Server
	err := s.write(ctx, func(tx store.Tx) error {
		sv, err := store.Get[Server](tx, KindServer, id)
		if err != nil {
			return err
		}
		sv.Ports = ports
		cur = sv
		return putServer(tx, sv, false)
	})
	if err == nil && cur.HostName != "" {
		// Scheduled before its ports were recorded: bind them to the host.
		s.bindHost(ctx, cur)
	}
	return err
}

// bindHost sets binding:host_id of sv's ports to its host.
func (s *Service) bindHost(ctx context.Context, sv *Server) {
	if s.ports == nil || sv.Deleted {
		return
	}
	sctx := serviceContext(context.WithoutCancel(ctx), sv.ProjectID)
	for _, p := range sv.Ports {
		if err := s.ports.BindPort(sctx, p.ID, sv.ID, sv.AvailabilityZone, sv.HostName); err != nil {
			s.log.WarnContext(ctx, "port not bound to host", "server_id", sv.ID, "port_id", p.ID, logkey.Err, err)
		}
	}
}

// ListServersOptions filters ListServers.
type ListServersOptions struct {
	AllProjects bool
	ProjectID   string
	// Name is a regular expression matched anywhere in the name.
	Name          string
	Statuses      []string
	FlavorID      string
	ImageID       string
	ChangesSince  *time.Time
	ChangesBefore *time.Time
	IP            string
	IP6           string
	ReservationID string
	Tags          []string
	TagsAny       []string
	NotTags       []string
	NotTagsAny    []string
	Host          string
	Locked        *bool
	Deleted       bool
	// SortKeys/SortDirs default to created_at desc.
	SortKeys []string
	SortDirs []string
}

// ListServers returns the servers the caller may see that match o, sorted.
func (s *Service) ListServers(ctx context.Context, o ListServersOptions) ([]Server, error) {
	c := creds(ctx)
	if (o.AllProjects || o.Host != "" || o.Deleted) && !c.IsReader() {
		if o.AllProjects {
			return nil, forbidden()
		}
		o.Host, o.Deleted = "", false
	}
	project := c.ProjectID
	if o.AllProjects { // without all_tenants, project_id is ignored (Nova)
		project = o.ProjectID
	}
	var nameRE *regexp.Regexp
	if o.Name != "" {
		re, err := regexp.Compile(o.Name)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(o.Name))
		}
		nameRE = re
	}
	var all []Server
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		all, err = store.List[Server](tx, KindServer, store.ListOptions{Ref: project})
		return err
	})
	if err != nil {
		return nil, err
	}
	var vmStates []string
	for _, st := range o.Statuses {
		vmStates = append(vmStates, vmStatesOf(strings.ToUpper(st))...)
	}
	out := all[:0]
	for _, sv := range all {
		if !visible(c, &sv) {
			continue
		}
		if sv.Deleted && !o.Deleted && o.ChangesSince == nil && !slices.Contains(vmStates, VMDeleted) {
			continue
		}
		if !sv.Deleted && o.Deleted {
			continue
		}
		if !matchServer(&sv, o, nameRE, vmStates) {
			continue
		}
		out = append(out, sv)
	}
	sortServers(out, o.SortKeys, o.SortDirs)
	return out, nil
}

func matchServer(sv *Server, o ListServersOptions, nameRE *regexp.Regexp, vmStates []string) bool {
	switch {
	case nameRE != nil && !nameRE.MatchString(sv.Name):
		return false
	case len(o.Statuses) > 0 && !slices.Contains(vmStates, sv.VMState):
		return false
	case o.FlavorID != "" && sv.Flavor.ID != o.FlavorID:
		return false
	case o.ImageID != "" && sv.ImageID != o.ImageID:
		return false
	case o.ChangesSince != nil && sv.UpdatedAt.Before(*o.ChangesSince):
		return false
	case o.ChangesBefore != nil && sv.UpdatedAt.After(*o.ChangesBefore):
		return false
	case o.ReservationID != "" && sv.ReservationID != o.ReservationID:
		return false
	case o.Host != "" && sv.HostName != o.Host:
		return false
	case o.Locked != nil && sv.Locked != *o.Locked:
		return false
	}
	if o.IP != "" || o.IP6 != "" {
		found := false
		for _, p := range sv.Ports {
			for _, ip := range p.FixedIPs {
				if o.IP != "" && ip.Version == 4 && regexpMatch(o.IP, ip.IPAddress) ||
					o.IP6 != "" && ip.Version == 6 && regexpMatch(o.IP6, ip.IPAddress) {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	has := func(t string) bool { return slices.Contains(sv.Tags, t) }
	for _, t := range o.Tags {
		if !has(t) {
			return false
		}
	}
	if len(o.TagsAny) > 0 && !slices.ContainsFunc(o.TagsAny, has) {
		return false
	}
	if len(o.NotTags) > 0 {
		all := true
		for _, t := range o.NotTags {
			all = all && has(t)
		}
		if all {
			return false
		}
	}
	if len(o.NotTagsAny) > 0 && slices.ContainsFunc(o.NotTagsAny, has) {
		return false
	}
	return true
}

func regexpMatch(pattern, s string) bool {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return strings.Contains(s, pattern)
	}
	return re.MatchString(s)
}

// ServerSortKeys are the sort keys Nova accepts for everyone.
var ServerSortKeys = []string{"access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive", "created_at", "display_description", "display_name", "host", "hostname", "image_ref", "instance_type_id", "kernel_id", "key_name", "launch_index", "launched_at", "locked_by", "node", "power_state", "progress", "project_id", "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at", "user_id", "uuid", "vm_state", "locked"}

func sortServers(list []Server, keys, dirs []string) {
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	key := func(sv *Server, k string) string {
		switch k {
		case "display_name", "hostname":
			return sv.Name
		case "uuid":
			return sv.ID
		case "updated_at":
			return sv.UpdatedAt.Format(time.RFC3339Nano)
		case "vm_state":
			return sv.VMState
		case "task_state":
			return sv.TaskState
		case "availability_zone":
			return sv.AvailabilityZone
		case "host":
			return sv.HostName
		case "image_ref":
			return sv.ImageID
		case "instance_type_id":
			return fmt.Sprintf("%020d", sv.Flavor.Seq)
		case "launch_index":
			return fmt.Sprintf("%010d", sv.LaunchIndex)
		case "power_state":
			return fmt.Sprintf("%03d", sv.PowerState)
		case "project_id":
			return sv.ProjectID
		case "user_id":
			return sv.UserID
		case "key_name":
			if sv.KeyName != nil {
				return *sv.KeyName
			}
			return ""
		}
		return sv.CreatedAt.Format(time.RFC3339Nano) + fmt.Sprintf("%012d", sv.Seq)
	}
	slices.SortStableFunc(list, func(a, b Server) int {
		for i, k := range append(slices.Clone(keys), "created_at") {
			dir := "desc"
			if i < len(dirs) {
				dir = dirs[i]
			} else if len(dirs) > 0 && i < len(keys) {
				dir = dirs[len(dirs)-1]
			}
			c := strings.Compare(key(&a, k), key(&b, k))
			if dir == "asc" {
				c = -c
			}
			if c != 0 {
				return -c
			}
		}
		return 0
	})
}

// ServerHost returns the host a server runs on, for views (nil if none).
func (s *Service) ServerHost(ctx context.Context, sv *Server) *Host {
	if sv.HostID == "" {
		return nil
	}
	var h *Host
	_ = s.read(ctx, func(tx store.ReadTx) (err error) {
		h, err = store.Get[Host](tx, KindHost, sv.HostID)
		return err
	})
	return h
}

// placeRequest is the scheduler request of a server.
func placeRequest(tx store.ReadTx, sv *Server, f *Flavor, ignore []string) (scheduler.Request, error) {
	req := scheduler.Request{Resources: f.Resources(), AvailabilityZone: sv.RequestedZone, DefaultZone: DefaultZone, ExtraSpecs: f.ExtraSpecs, Ignore: ignore, Host: sv.ForcedHost}
	// The hosts of the servers the same_host/different_host hints name
	// (servers gone or not placed yet count for no host).
	hintHosts := func(ids []string) ([]string, error) {
		var out []string
		for _, id := range ids {
			other, err := store.Get[Server](tx, KindServer, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if other.HostID != "" && !other.Deleted && other.ID != sv.ID {
				out = append(out, other.HostID)
			}
		}
		return out, nil
	}
	var err error
	if len(sv.SameHost) > 0 {
		req.SameHost = true
		if req.SameHosts, err = hintHosts(sv.SameHost); err != nil {
			return req, err
		}
	}
	if req.DifferentHosts, err = hintHosts(sv.DifferentHost); err != nil {
		return req, err
	}
	if sv.ServerGroupID != "" {
		g, err := store.Get[ServerGroup](tx, KindServerGroup, sv.ServerGroupID)
		if err == nil {
			grp := &scheduler.Group{Policy: g.Policy, MaxServerPerHost: g.Rules["max_server_per_host"], Members: map[string]int{}}
			for _, m := range g.Members {
				if m == sv.ID {
					continue
				}
				if other, err := store.Get[Server](tx, KindServer, m); err == nil && other.HostID != "" && !other.Deleted {
					grp.Members[other.HostID]++
				}
			}
			req.Group = grp
		} else if !errors.Is(err, store.ErrNotFound) {
			return req, err
		}
	}
	return req, nil
}
