package netagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/dhcp"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/metadata"
	"golang.org/x/sys/unix"
)

// MetadataPort is where the metadata listener accepts connections.
const MetadataPort = 80

// listener is a metadata HTTP server on 169.254.169.254:80 inside a
// namespace.
type listener struct {
	ns    string
	nsIno uint64
	srv   *http.Server
	done  chan struct{}
}

// listen opens the metadata socket on a thread inside namespace ns (it
// stays there; serving it needs no further switch) and serves lookup.
func (a *Agent) listen(ns string, lookup metadata.Lookup) (*listener, error) {
	ino, err := nsInode(ns)
	if err != nil {
		return nil, err
	}
	var ln net.Listener
	addr := netip.AddrPortFrom(MetadataIP, MetadataPort).String()
	if err := netns.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		return nil, fmt.Errorf("metadata listener in %s: %w", ns, err)
	}
	l := &listener{ns: ns, nsIno: ino, done: make(chan struct{})}
	l.srv = &http.Server{
		Handler:           metadata.Handler(lookup, a.cfg.Log.With("netns", ns)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return a.ctx },
	}
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metadata listener stopped", "netns", ns, "err", err)
		}
	}()
	return l, nil
}

// alive reports whether the listener still serves in the namespace that
// now carries its name.
func (l *listener) alive() bool {
	select {
	case <-l.done:
		return false
	default:
	}
	ino, err := nsInode(l.ns)
	return err == nil && ino == l.nsIno
}

func (l *listener) stop() {
	l.srv.Close()
	<-l.done
}

func nsInode(ns string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(netns.Path(ns), &st); err != nil {
		return 0, fmt.Errorf("namespace %s: %w", ns, err)
	}
	return st.Ino, nil
}

// metadataTTL is how long a guest's documents are reused: a booting
// guest reads a dozen paths in a row (cloud-init walks the EC2 tree), and
// each would otherwise cost a round trip to the control plane.
const metadataTTL = 5 * time.Second

type cachedMetadata struct {
	md      *hostapi.Metadata
	expires time.Time
}

// metadataLookup answers for guests on one network.
func (a *Agent) metadataLookup(networkID string) metadata.Lookup {
	return func(ctx context.Context, ip string) (*hostapi.Metadata, error) {
		if a.cfg.Metadata == nil {
			return nil, hostapi.ErrNotFound
		}
		key := networkID + "|" + ip
		now := time.Now()
		a.mdMu.Lock()
		c, ok := a.mdCache[key]
		a.mdMu.Unlock()
		if ok && now.Before(c.expires) {
			return c.md, nil
		}
		md, err := a.cfg.Metadata(ctx, hostapi.MetadataQuery{NetworkID: networkID, Address: ip})
		if err != nil {
			return nil, err
		}
		a.mdMu.Lock()
		for k, c := range a.mdCache {
			if !now.Before(c.expires) {
				delete(a.mdCache, k)
			}
		}
		a.mdCache[key] = cachedMetadata{md: md, expires: now.Add(metadataTTL)}
		a.mdMu.Unlock()
		return md, nil
	}
}

// routerListener is a router's metadata listener; the router's inside
// subnets tell which network a request comes from.
type routerListener struct {
	*listener
	mu      sync.Mutex
	subnets []subnetRoute
}

func (r *routerListener) lookup(a *Agent) metadata.Lookup {
	return func(ctx context.Context, ip string) (*hostapi.Metadata, error) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, hostapi.ErrNotFound
		}
		r.mu.Lock()
		subnets := r.subnets
		r.mu.Unlock()
		for _, s := range subnets {
			if s.Prefix.Contains(addr) {
				return a.metadataLookup(s.NetworkID)(ctx, ip)
			}
		}
		return nil, hostapi.ErrNotFound
	}
}

// ensureRouterListener starts (or restarts) a router's metadata listener
// and updates its subnets.
func (a *Agent) ensureRouterListener(ns string, subnets []subnetRoute) error {
	r := a.routerListeners[ns]
	if r != nil && !r.alive() {
		a.log.Info("restarting router metadata listener", "netns", ns)
		r.stop()
		delete(a.routerListeners, ns)
		r = nil
	}
	if r == nil {
		r = &routerListener{subnets: subnets}
		l, err := a.listen(ns, r.lookup(a))
		if err != nil {
			return err
		}
		r.listener = l
		a.routerListeners[ns] = r
		a.log.Info("router metadata listener started", "netns", ns)
	}
	r.mu.Lock()
	r.subnets = subnets
	r.mu.Unlock()
	return nil
}

// service is one network's DHCP server and metadata listener, both bound
// inside its qdhcp- namespace.
type service struct {
	spec serviceSpec
	// ifIndex is the interface the DHCP socket is bound to: one recreated
	// under the same name leaves it deaf.
	ifIndex int

	cancel   context.CancelFunc
	dhcp     *dhcp.Server
	dhcpDone chan struct{}
	meta     *listener
}

// alive reports whether the DHCP server and the listener still run where
// they should.
func (s *service) alive(ifIndex int) bool {
	select {
	case <-s.dhcpDone:
		return false
	default:
	}
	return s.ifIndex == ifIndex && s.meta.alive()
}

func ifIndex(ns, iface string) (int, error) {
	var idx int
	err := netns.Do(ns, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return fmt.Errorf("interface %s in %s: %w", iface, ns, err)
		}
		idx = ifi.Index
		return nil
	})
	return idx, err
}

// ensureService starts the network's service, restarts it if it died or
// its namespace or interface changed under it, and updates its leases.
func (a *Agent) ensureService(spec serviceSpec) error {
	idx, err := ifIndex(spec.Namespace, spec.Interface)
	if err != nil {
		a.stopService(spec.NetworkID)
		return err
	}
	s := a.services[spec.NetworkID]
	if s != nil && !s.alive(idx) {
		a.log.Info("restarting DHCP and metadata service", "network", spec.NetworkID, "netns", spec.Namespace)
		a.stopService(spec.NetworkID)
		s = nil
	}
	if s == nil {
		if s, err = a.startService(spec); err != nil {
			return err
		}
		s.ifIndex = idx
		a.services[spec.NetworkID] = s
	}
	s.spec = spec
	if err := s.dhcp.SetLeases(spec.Leases); err != nil {
		return fmt.Errorf("DHCP leases: %w", err)
	}
	return nil
}

func (a *Agent) startService(spec serviceSpec) (*service, error) {
	log := a.log.With("network", spec.NetworkID, "netns", spec.Namespace)
	srv, err := dhcp.New(dhcp.Config{Namespace: spec.Namespace, Interface: spec.Interface, ServerIP: spec.ServerIP}, a.cfg.Log)
	if err != nil {
		return nil, err
	}
	if err := srv.SetLeases(spec.Leases); err != nil {
		return nil, fmt.Errorf("DHCP leases: %w", err)
	}
	meta, err := a.listen(spec.Namespace, a.metadataLookup(spec.NetworkID))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(a.ctx)
	s := &service{spec: spec, cancel: cancel, dhcp: srv, dhcpDone: make(chan struct{}), meta: meta}
	go func() {
		defer close(s.dhcpDone)
		if err := srv.Run(ctx); err != nil {
			log.Error("DHCP server stopped", "err", err)
		}
	}()
	log.Info("DHCP and metadata service started", "interface", spec.Interface, "server_ip", spec.ServerIP)
	return s, nil
}

// stopService stops one network's service and waits for its sockets to
// close.
func (a *Agent) stopService(networkID string) {
	s := a.services[networkID]
	if s == nil {
		return
	}
	delete(a.services, networkID)
	s.cancel()
	s.meta.stop()
	<-s.dhcpDone
	a.log.Info("DHCP and metadata service stopped", "network", networkID)
}

// stopRouterListener stops a router's metadata listener.
func (a *Agent) stopRouterListener(ns string) {
	if r := a.routerListeners[ns]; r != nil {
		delete(a.routerListeners, ns)
		r.stop()
	}
}
