package compute

import "context"

// Ports is what Compute needs from Networking. Compute never imports the
// network package: internal/cloud wires an adapter over it (contract in
// docs/compat/compute.md). A nil Ports means there is no networking
// service: only servers with networks "none" (or, for compatibility, an
// unresolved request recorded as is) can be created.
//
// Every method runs with the caller's credentials in ctx (policy.FromContext)
// except BindPort and DeletePort during a delete, which run with the
// server's project as an admin service credential.
type Ports interface {
	// CreatePort creates a port for a server (networks: [{"uuid": …}],
	// "auto", or a fixed IP). It returns a fault (404 network not found,
	// 400 bad fixed IP, 409 IP in use, 403 quota) on failure.
	CreatePort(ctx context.Context, req PortRequest) (Port, error)
	// GetPort returns a port by ID (networks: [{"port": …}]); 404 fault if
	// absent; a port already bound to another device is the caller's 409.
	GetPort(ctx context.Context, id string) (Port, error)
	// BindPort sets the port's device_id to serverID, device_owner to
	// "compute:<zone>" and binding:host_id to host ("" unbinds).
	BindPort(ctx context.Context, portID, serverID, zone, host string) error
	// DeletePort removes a port Nova created; 404 is not an error.
	DeletePort(ctx context.Context, id string) error
	// ListServerPorts returns the ports whose device_id is serverID.
	ListServerPorts(ctx context.Context, serverID string) ([]Port, error)
	// AutoNetwork returns the network "auto" means for the caller's
	// project (its only network, or a shared one); 400 fault if none.
	AutoNetwork(ctx context.Context) (string, error)
	// SecurityGroupID resolves a security group name (or ID) in the
	// caller's project; 404 fault if none, 409 if the name is ambiguous.
	SecurityGroupID(ctx context.Context, nameOrID string) (string, error)
}

// PortRequest asks Networking for a port on a network.
type PortRequest struct {
	NetworkID      string
	FixedIP        string
	SecurityGroups []string // IDs
	ProjectID      string
	// Tag is the device tag (2.32); informational.
	Tag string
}

// Port is a server's port as Compute shows it (addresses, interfaces).
type Port struct {
	ID          string    `json:"id"`
	NetworkID   string    `json:"network_id"`
	NetworkName string    `json:"network_name"`
	MAC         string    `json:"mac_address"`
	FixedIPs    []FixedIP `json:"fixed_ips"`
	Status      string    `json:"status,omitempty"`
	DeviceID    string    `json:"device_id,omitempty"`
	// Preexisting ports (networks: [{"port": …}]) are unbound, not
	// deleted, with the server.
	Preexisting bool `json:"preexisting,omitempty"`
}

// FixedIP is one address of a port.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
	// Version is 4 or 6.
	Version int `json:"version"`
}

// NetworkRequest is one entry of a create request's networks.
type NetworkRequest struct {
	UUID    string `json:"uuid,omitempty"`
	Port    string `json:"port,omitempty"`
	FixedIP string `json:"fixed_ip,omitempty"`
	Tag     string `json:"tag,omitempty"`
	// Auto is networks: "auto".
	Auto bool `json:"auto,omitempty"`
	// Default is no networks before microversion 2.37: the one usable
	// network as for Auto, several are ambiguous (409), none is no port.
	Default bool `json:"default,omitempty"`
}

// BlockDevice is one block_device_mapping_v2 entry.
type BlockDevice struct {
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type,omitempty"`
	UUID                string `json:"uuid,omitempty"`
	BootIndex           *int   `json:"boot_index,omitempty"`
	VolumeSize          int64  `json:"volume_size,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination,omitempty"`
}

// ServerFault is the fault of a server in ERROR.
type ServerFault struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
	Created string `json:"created"`
}
