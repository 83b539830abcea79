package compute

import (
	"time"

	"github.com/nubo-cloud/nubo/internal/scheduler"
)

// Record kinds.
const (
	KindFlavor      = "compute.flavor"
	KindKeypair     = "compute.keypair"
	KindHost        = "compute.host"
	KindService     = "compute.service"
	KindAggregate   = "compute.aggregate"
	KindServerGroup = "compute.server_group"
	KindQuota       = "compute.quota"
	KindQuotaClass  = "compute.quota_class"
	KindAllocation  = "compute.allocation"
	KindServer      = "compute.server"
	// KindAction holds instance actions (Ref: server ID).
	KindAction = "compute.instance_action"
	// KindMigration holds migrations (Ref: server ID).
	KindMigration = "compute.migration"
	// KindUsage holds what a project's servers count against quotas (ID:
	// project ID); see quotas.go.
	KindUsage = "compute.usage"
	kindSeq   = "compute.seq"
)

// DefaultZone is the availability zone of hosts in no zone-bearing aggregate
// (Nova's default_availability_zone); InternalZone holds control services.
const (
	DefaultZone  = "nova"
	InternalZone = "internal"
)

// Flavor is a server size.
type Flavor struct {
	// ID is the flavor's public ID (Nova's flavorid).
	ID          string            `json:"id"`
	Seq         int64             `json:"seq"`
	Name        string            `json:"name"`
	VCPUs       int64             `json:"vcpus"`
	RAM         int64             `json:"ram"`
	Disk        int64             `json:"disk"`
	Swap        int64             `json:"swap"`
	Ephemeral   int64             `json:"ephemeral"`
	RxtxFactor  float64           `json:"rxtx_factor"`
	IsPublic    bool              `json:"is_public"`
	Disabled    bool              `json:"disabled"`
	Description *string           `json:"description,omitempty"`
	ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
	// Projects may use a private flavor.
	Projects  []string  `json:"projects,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Resources returns what a server of the flavor takes from its host.
func (f *Flavor) Resources() scheduler.Resources {
	return scheduler.Resources{
		scheduler.VCPU:     f.VCPUs,
		scheduler.MemoryMB: f.RAM,
		scheduler.DiskGB:   f.Disk + f.Ephemeral + (f.Swap+1023)/1024,
	}
}

// Keypair types.
const (
	KeypairSSH  = "ssh"
	KeypairX509 = "x509"
)

// Keypair is a user's public key.
type Keypair struct {
	Seq         int64     `json:"seq"`
	Name        string    `json:"name"`
	UserID      string    `json:"user_id"`
	Type        string    `json:"type"`
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	CreatedAt   time.Time `json:"created_at"`
	// PrivateKey is set only on a keypair Nubo just generated; it is never
	// stored.
	PrivateKey string `json:"-"`
}

// Host is a compute host: one resource provider, one hypervisor, one
// nova-compute service.
type Host struct {
	// ID is the resource provider and hypervisor UUID.
	ID  string `json:"id"`
	Seq int64  `json:"seq"`
	// Name is the service host name (what aggregates and services name).
	Name               string `json:"name"`
	HypervisorHostname string `json:"hypervisor_hostname"`
	HypervisorType     string `json:"hypervisor_type"`
	HypervisorVersion  int64  `json:"hypervisor_version"`
	HostIP             string `json:"host_ip"`
	// Driver names what runs servers here: "fake" for the simulated host.
	Driver string `json:"driver"`
	// NetworkNode says the host also serves routers, DHCP and metadata.
	NetworkNode bool                           `json:"network_node,omitempty"`
	CPUInfo     map[string]any                 `json:"cpu_info,omitempty"`
	Inventory   map[string]scheduler.Inventory `json:"inventory"`
	// Generation is Placement's provider generation, bumped on every
	// inventory or allocation change.
	Generation int64     `json:"generation"`
	ServiceID  string    `json:"service_id"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at"`
}

// Service binaries.
const (
	BinaryCompute   = "nova-compute"
	BinaryScheduler = "nova-scheduler"
	BinaryConductor = "nova-conductor"
)

// NovaService is a Nova service record (os-services): a binary on a host.
type NovaService struct {
	ID             string     `json:"id"`
	Seq            int64      `json:"seq"`
	Binary         string     `json:"binary"`
	Host           string     `json:"host"`
	Disabled       bool       `json:"disabled"`
	DisabledReason *string    `json:"disabled_reason"`
	ForcedDown     bool       `json:"forced_down"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      *time.Time `json:"updated_at"`
}

// Aggregate is a host aggregate.
type Aggregate struct {
	UUID      string            `json:"uuid"`
	ID        int64             `json:"id"`
	Name      string            `json:"name"`
	Hosts     []string          `json:"hosts"`
	Metadata  map[string]string `json:"metadata"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt *time.Time        `json:"updated_at"`
}

// AvailabilityZone returns the aggregate's zone, or nil.
func (a *Aggregate) AvailabilityZone() *string {
	if z, ok := a.Metadata["availability_zone"]; ok {
		return &z
	}
	return nil
}

// ServerGroup is a set of servers with a placement policy.
type ServerGroup struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Policy    string         `json:"policy"`
	Rules     map[string]int `json:"rules,omitempty"`
	ProjectID string         `json:"project_id"`
	UserID    string         `json:"user_id"`
	Members   []string       `json:"members"`
	CreatedAt time.Time      `json:"created_at"`
}

// Allocation is what one consumer (a server) holds on one provider (a host).
type Allocation struct {
	ConsumerID string              `json:"consumer_id"`
	ProviderID string              `json:"provider_id"`
	ProjectID  string              `json:"project_id"`
	UserID     string              `json:"user_id"`
	Resources  scheduler.Resources `json:"resources"`
	CreatedAt  time.Time           `json:"created_at"`
}

// Server is the part of a server record that quotas, usage and scheduling
// read. Part 2 (the servers API) extends it; the fields here keep their
// meaning.
type Server struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	ProjectID        string `json:"project_id"`
	UserID           string `json:"user_id"`
	Flavor           Flavor `json:"flavor"`
	HostID           string `json:"host_id,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	Status           string `json:"status"`
	ServerGroupID    string `json:"server_group_id,omitempty"`
	// RequestedZone is the availability zone the create asked for ("" for
	// none): it binds every later placement (migrations, unshelve), while
	// a server created without one may move to any zone, as in Nova.
	RequestedZone string `json:"requested_zone,omitempty"`
	// SameHost and DifferentHost are the same_host and different_host
	// scheduler hints: servers to be placed with, or away from.
	SameHost      []string   `json:"same_host,omitempty"`
	DifferentHost []string   `json:"different_host,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	LaunchedAt    *time.Time `json:"launched_at,omitempty"`
	TerminatedAt  *time.Time `json:"terminated_at,omitempty"`
	// Deleted servers stay as records until usage no longer needs them.
	Deleted bool `json:"deleted,omitempty"`

	// Part 2 (servers API); see servers.go and server_states.go.

	// Seq numbers servers for their libvirt-style instance name.
	Seq         int64   `json:"seq,omitempty"`
	Description *string `json:"description,omitempty"`
	// ImageID is "" for a server booted from a volume.
	ImageID  string            `json:"image_id,omitempty"`
	KeyName  *string           `json:"key_name,omitempty"`
	KeyData  string            `json:"key_data,omitempty"`
	UserData *string           `json:"user_data,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	// AccessIPv4/6 are the user-set access addresses (no effect on the guest).
	AccessIPv4  string `json:"access_ipv4,omitempty"`
	AccessIPv6  string `json:"access_ipv6,omitempty"`
	ConfigDrive bool   `json:"config_drive,omitempty"`
	DiskConfig  string `json:"disk_config,omitempty"`
	Hostname    string `json:"hostname,omitempty"`
	// SecurityGroups are group names as the client gave them.
	SecurityGroups []string `json:"security_groups,omitempty"`
	// Networks is what the client asked for; Ports what it got.
	Networks     []NetworkRequest `json:"networks,omitempty"`
	Ports        []Port           `json:"ports,omitempty"`
	BlockDevices []BlockDevice    `json:"block_devices,omitempty"`
	// VolumeAttachments are the server's volumes (root volume included:
	// Boot); see volumes.go.
	VolumeAttachments []VolumeAttachment `json:"volume_attachments,omitempty"`
	ReservationID     string             `json:"reservation_id,omitempty"`
	LaunchIndex       int                `json:"launch_index,omitempty"`
	// HostName and NodeName name the host (service host and hypervisor
	// hostname) HostID points at.
	HostName string `json:"host_name,omitempty"`
	NodeName string `json:"node_name,omitempty"`
	// VMState and TaskState are the API's view (Nova's vm_state and
	// task_state): the API sets TaskState to ask for a change; the host side
	// clears it when PowerState reflects the change.
	VMState    string `json:"vm_state,omitempty"`
	TaskState  string `json:"task_state,omitempty"`
	PowerState int    `json:"power_state"`
	// PrevVMState is where a reversible state returns to (unrescue, revert
	// resize, rebuild of a stopped server).
	PrevVMState  string       `json:"prev_vm_state,omitempty"`
	Locked       bool         `json:"locked,omitempty"`
	LockedBy     string       `json:"locked_by,omitempty"`
	LockedReason *string      `json:"locked_reason,omitempty"`
	Fault        *ServerFault `json:"fault,omitempty"`
	Progress     int          `json:"progress,omitempty"`
	// OldFlavor and OldHostID are kept while a resize or migration awaits
	// confirmation.
	OldFlavor *Flavor `json:"old_flavor,omitempty"`
	OldHostID string  `json:"old_host_id,omitempty"`
	// MigrationID is the migration in progress.
	MigrationID string `json:"migration_id,omitempty"`
	// ActionID is the instance action the current task belongs to.
	ActionID string `json:"action_id,omitempty"`
	// SnapshotImageID is the image a createImage task fills.
	SnapshotImageID string `json:"snapshot_image_id,omitempty"`
	// RescueImageID is the image a rescue boots.
	RescueImageID string `json:"rescue_image_id,omitempty"`
	// ShelvedImageID is the "<name>-shelved" snapshot of a shelved server,
	// deleted when it is unshelved.
	ShelvedImageID string `json:"shelved_image_id,omitempty"`
	// ForcedHost is the host an admin asked for ("zone:host").
	ForcedHost string    `json:"forced_host,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
	// QuotaCounted is what the server counted in its project's usage record
	// when last written (nil: written before usage records); putServer keeps
	// it and the record in step (quotas.go).
	QuotaCounted *ServerCount `json:"quota_counted,omitempty"`
}
