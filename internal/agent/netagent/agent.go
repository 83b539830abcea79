package netagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/nubo-cloud/nubo/internal/driver/firewall"
	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// Port statuses reported to the control plane.
const (
	StatusActive = "ACTIVE"
	StatusDown   = "DOWN"
)

// Config wires an Agent to the host.
type Config struct {
	// HostNamespace holds the bridges, VXLAN devices and taps: "" for the
	// agent's own (the host's), a name or path otherwise (tests use a
	// private one). It must be the one Net works in.
	HostNamespace string
	// NamespacePrefix is put before the qrouter-/qdhcp- names ("" in
	// production). Net must own namespaces with these prefixes (linux.Config
	// NamespacePrefixes = NamespacePrefixes(prefix)); tests use a random one
	// so that every name they create is theirs.
	NamespacePrefix string
	Net             netdev.Driver
	Firewall        firewall.Firewall
	// LocalIP is this host's VTEP address (hostapi.Host.HostIP); vxlan
	// networks are wired local-only without it.
	LocalIP netip.Addr
	// VXLANDevice is the underlay device ("" lets routing choose).
	VXLANDevice string
	// PhysicalInterfaces maps a provider network's physical_network to the
	// host device its flat networks' bridges are joined to (Neutron's
	// physical_interface_mappings). The device becomes a bridge port, so it
	// must not carry the host's own addresses. An external network without
	// a mapping gets its subnets' gateway addresses on its bridge instead:
	// the host itself is then the routers' upstream.
	PhysicalInterfaces map[string]string
	// Metadata answers the metadata service (hostapi.Control.Metadata);
	// nil answers 404 to every guest.
	Metadata func(ctx context.Context, q hostapi.MetadataQuery) (*hostapi.Metadata, error)
	Log      *slog.Logger
}

// NamespacePrefixes are the namespace prefixes an agent with prefix p
// creates, for the netdev driver's ownership check.
func NamespacePrefixes(p string) []string {
	return []string{p + netdev.RouterNamespacePrefix, p + netdev.DHCPNamespacePrefix}
}

// Agent converges the host's network data plane.
type Agent struct {
	cfg Config
	log *slog.Logger

	mu              sync.Mutex
	closed          bool
	ctx             context.Context // parent of the services; ends with Close
	cancel          context.CancelFunc
	services        map[string]*service        // by network ID
	routerListeners map[string]*routerListener // by namespace

	mdMu    sync.Mutex
	mdCache map[string]cachedMetadata // by network ID and guest address
}

// New checks that bridged traffic traverses netfilter (security groups
// would silently not filter otherwise) and returns an agent. It changes
// nothing on the host until Converge.
func New(cfg Config) (*Agent, error) {
	if cfg.Net == nil || cfg.Firewall == nil {
		return nil, errors.New("netagent: Config needs Net and Firewall")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.LocalIP.IsValid() {
		cfg.LocalIP = cfg.LocalIP.Unmap()
	}
	if err := cfg.Net.CheckBridgeNetfilter(context.Background()); err != nil {
		return nil, fmt.Errorf("netagent: refusing to run: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Agent{
		cfg: cfg, log: cfg.Log.With("component", "netagent"),
		ctx: ctx, cancel: cancel, services: map[string]*service{},
		routerListeners: map[string]*routerListener{}, mdCache: map[string]cachedMetadata{},
	}, nil
}

// TapName is the tap device the hypervisor opens for a port.
func (a *Agent) TapName(portID string) string { return netdev.TapName(portID) }

// RouterNamespace and DHCPNamespace are the namespaces this agent uses.
func (a *Agent) RouterNamespace(routerID string) string {
	return routerNamespace(a.cfg.NamespacePrefix, routerID)
}

// DHCPNamespace is the namespace of a network's DHCP server and metadata
// listener.
func (a *Agent) DHCPNamespace(networkID string) string {
	return dhcpNamespace(a.cfg.NamespacePrefix, networkID)
}

// Converge makes the host's network data plane equal to what st asks for
// (a nil st means nothing: every owned device, namespace, table and
// service goes) and reports the status of every port in st. It keeps
// going after a failed item; the error joins every failure, and the
// reports are valid even then.
func (a *Agent) Converge(ctx context.Context, st *hostapi.State) ([]hostapi.PortReport, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errors.New("netagent: closed")
	}
	p := buildPlan(st, planOptions{
		nsPrefix: a.cfg.NamespacePrefix, localIP: a.cfg.LocalIP,
		vxDevice: a.cfg.VXLANDevice, physical: a.cfg.PhysicalInterfaces,
	})
	errs := p.errs

	// Services hold sockets in their namespaces: stop the unwanted ones
	// before Sync deletes those.
	for id, s := range a.services {
		if want, ok := p.services[id]; !ok || want.key() != s.spec.key() {
			a.stopService(id)
		}
	}
	for ns := range a.routerListeners {
		if _, ok := p.routerMetadata[ns]; !ok {
			a.stopRouterListener(ns)
		}
	}
	if err := a.cfg.Net.Sync(ctx, p.spec); err != nil {
		errs = append(errs, err)
	}
	if err := a.cfg.Firewall.Apply(ctx, a.cfg.HostNamespace, p.host); err != nil {
		errs = append(errs, fmt.Errorf("host firewall: %w", err))
	}
	for ns, rs := range p.routers {
		if err := a.cfg.Firewall.Apply(ctx, ns, rs); err != nil {
			errs = append(errs, fmt.Errorf("router firewall: %w", err))
		}
	}
	for id, spec := range p.services {
		if err := a.ensureService(spec); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", id, err))
		}
	}
	for ns, subnets := range p.routerMetadata {
		if err := a.ensureRouterListener(ns, subnets); err != nil {
			errs = append(errs, fmt.Errorf("router: %w", err))
		}
	}

	reports, err := a.reports(ctx, st, p)
	if err != nil {
		errs = append(errs, err)
	}
	return reports, errors.Join(errs...)
}

// reports marks each port of st ACTIVE when its device exists and is up.
func (a *Agent) reports(ctx context.Context, st *hostapi.State, p *plan) ([]hostapi.PortReport, error) {
	if st == nil {
		return nil, nil
	}
	status, err := a.cfg.Net.Status(ctx)
	up := map[string]bool{}
	for _, l := range status.Links {
		up[l.Name] = l.Up
	}
	out := make([]hostapi.PortReport, 0, len(st.Ports))
	for _, port := range st.Ports {
		s := StatusDown
		if dev, ok := p.devices[port.ID]; ok && up[dev] && !p.down[port.ID] {
			s = StatusActive
		}
		out = append(out, hostapi.PortReport{PortID: port.ID, Status: s})
	}
	if err != nil {
		return out, fmt.Errorf("port status: %w", err)
	}
	return out, nil
}

// Close stops the DHCP servers and metadata listeners. Devices,
// namespaces and rules stay, so guests keep their network while the agent
// restarts; Converge with an empty State removes them.
func (a *Agent) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	for id := range a.services {
		a.stopService(id)
	}
	for ns := range a.routerListeners {
		a.stopRouterListener(ns)
	}
	a.cancel()
	return nil
}
