package dhcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
)

// DefaultLeaseTime is used when a Lease sets none.
const DefaultLeaseTime = 24 * time.Hour

// Config says where a Server listens.
type Config struct {
	Namespace string     // network namespace name or path; "" = the caller's
	Interface string     // the server's leg on the network, e.g. ns-xxxxxxxxxxx
	ServerIP  netip.Addr // that leg's address: the DHCP server identifier
}

// Lease is one static reservation with its options.
type Lease struct {
	MAC     net.HardwareAddr
	Address netip.Prefix // the client's address and its subnet's length
	Router  netip.Addr   // optional default gateway
	DNS     []netip.Addr
	MTU     int // 0 leaves option 26 out
	// Routes go out as option 121. When it is present clients ignore
	// option 3 (RFC 3442), so the default route via Router is added to it.
	Routes     []Route
	Hostname   string
	DomainName string
	LeaseTime  time.Duration // 0 means DefaultLeaseTime
}

// Route is a classless static route.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

// Validate checks one lease.
func (l Lease) Validate() error {
	if len(l.MAC) != 6 {
		return fmt.Errorf("lease: MAC %v is not 6 bytes", l.MAC)
	}
	if !l.Address.IsValid() || !l.Address.Addr().Is4() {
		return fmt.Errorf("lease %v: address %v is not IPv4", l.MAC, l.Address)
	}
	if l.Router.IsValid() && !l.Router.Is4() {
		return fmt.Errorf("lease %v: router %v is not IPv4", l.MAC, l.Router)
	}
	if l.MTU != 0 && (l.MTU < 68 || l.MTU > 65535) {
		return fmt.Errorf("lease %v: MTU %d out of range", l.MAC, l.MTU)
	}
	for _, r := range l.Routes {
		if !r.Dst.Addr().Is4() || !r.Via.Is4() {
			return fmt.Errorf("lease %v: route %v via %v is not IPv4", l.MAC, r.Dst, r.Via)
		}
	}
	return nil
}

// Server serves static leases on one interface.
type Server struct {
	cfg Config
	log *slog.Logger

	mu     sync.RWMutex
	leases map[string]Lease // by MAC string
}

// New returns a server; Run starts it.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.Interface == "" || !cfg.ServerIP.Is4() {
		return nil, fmt.Errorf("dhcp server: need an interface and an IPv4 server address")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log.With("component", "dhcp", "interface", cfg.Interface), leases: map[string]Lease{}}, nil
}

// SetLeases replaces the lease table; requests that arrive afterwards see
// the new one. Nothing is changed if a lease is invalid or a MAC repeats.
func (s *Server) SetLeases(leases []Lease) error {
	m := make(map[string]Lease, len(leases))
	for _, l := range leases {
		if err := l.Validate(); err != nil {
			return err
		}
		k := l.MAC.String()
		if _, dup := m[k]; dup {
			return fmt.Errorf("lease: MAC %s listed twice", k)
		}
		m[k] = l
	}
	s.mu.Lock()
	s.leases = m
	s.mu.Unlock()
	return nil
}

func (s *Server) lease(mac net.HardwareAddr) (Lease, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.leases[mac.String()]
	return l, ok
}

// Run listens on port 67 of the interface inside the namespace and serves
// until ctx is done. The socket is created on a thread switched into the
// namespace, so it stays there; Run returns after closing it.
func (s *Server) Run(ctx context.Context) error {
	var conn *net.UDPConn
	err := netns.Do(s.cfg.Namespace, func() (err error) {
		conn, err = server4.NewIPv4UDPConn(s.cfg.Interface, &net.UDPAddr{Port: dhcpv4.ServerPort})
		return err
	})
	if err != nil {
		return fmt.Errorf("dhcp server on %s in %q: %w", s.cfg.Interface, s.cfg.Namespace, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	s.log.Info("dhcp server listening", "netns", s.cfg.Namespace)
	buf := make([]byte, 4096)
	for {
		n, peer, err := conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("dhcp server on %s: %w", s.cfg.Interface, err)
		}
		req, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			s.log.Debug("dropping malformed packet", "peer", peer, "err", err)
			continue
		}
		reply, dst := s.handle(req)
		if reply == nil {
			continue
		}
		if _, err := conn.WriteToUDP(reply.ToBytes(), dst); err != nil {
			s.log.Warn("dhcp reply failed", "mac", req.ClientHWAddr, "err", err)
		}
	}
}

// handle answers one request; a nil reply means stay silent.
func (s *Server) handle(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, *net.UDPAddr) {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, nil
	}
	l, ok := s.lease(req.ClientHWAddr)
	if !ok {
		s.log.Debug("no lease for client", "mac", req.ClientHWAddr, "type", req.MessageType())
		return nil, nil
	}
	ip := net.IP(l.Address.Addr().AsSlice())
	var typ dhcpv4.MessageType
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		typ = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		if sid := req.ServerIdentifier(); sid != nil && !sid.Equal(net.IP(s.cfg.ServerIP.AsSlice())) {
			return nil, nil // the client picked another server
		}
		want := req.RequestedIPAddress()
		if want == nil || want.IsUnspecified() {
			want = req.ClientIPAddr
		}
		typ = dhcpv4.MessageTypeAck
		if !want.Equal(ip) {
			typ = dhcpv4.MessageTypeNak
		}
	case dhcpv4.MessageTypeInform:
		typ = dhcpv4.MessageTypeAck
	default: // release, decline: static leases need no bookkeeping
		s.log.Debug("ignoring message", "mac", req.ClientHWAddr, "type", req.MessageType())
		return nil, nil
	}
	mods := []dhcpv4.Modifier{
		dhcpv4.WithMessageType(typ),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP(s.cfg.ServerIP.AsSlice()))),
	}
	if typ != dhcpv4.MessageTypeNak {
		if req.MessageType() != dhcpv4.MessageTypeInform {
			lt := l.LeaseTime
			if lt == 0 {
				lt = DefaultLeaseTime
			}
			mods = append(mods, dhcpv4.WithYourIP(ip), dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(lt)))
		}
		mods = append(mods, options(l)...)
	}
	reply, err := dhcpv4.NewReplyFromRequest(req, mods...)
	if err != nil {
		s.log.Warn("building dhcp reply failed", "mac", req.ClientHWAddr, "err", err)
		return nil, nil
	}
	dst := &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
	if typ != dhcpv4.MessageTypeNak && !req.ClientIPAddr.IsUnspecified() && req.ClientIPAddr != nil {
		dst.IP = req.ClientIPAddr // renewing: the client has its address
	}
	s.log.Debug("dhcp reply", "mac", req.ClientHWAddr, "type", typ, "ip", l.Address.Addr())
	return reply, dst
}

// options are the lease's configuration options.
func options(l Lease) []dhcpv4.Modifier {
	p := l.Address.Masked()
	mods := []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(p.Bits(), 32)))}
	if l.Router.IsValid() {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRouter(net.IP(l.Router.AsSlice()))))
	}
	if len(l.DNS) > 0 {
		var ips []net.IP
		for _, a := range l.DNS {
			ips = append(ips, net.IP(a.AsSlice()))
		}
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(ips...)))
	}
	if l.MTU > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, []byte{byte(l.MTU >> 8), byte(l.MTU)})))
	}
	if len(l.Routes) > 0 {
		var rs []*dhcpv4.Route
		for _, r := range l.Routes {
			rs = append(rs, route(r.Dst, r.Via))
		}
		if l.Router.IsValid() {
			rs = append(rs, route(netip.MustParsePrefix("0.0.0.0/0"), l.Router))
		}
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClasslessStaticRoute(rs...)))
	}
	if l.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(l.Hostname)))
	}
	if l.DomainName != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDomainName(strings.TrimSuffix(l.DomainName, "."))))
	}
	return mods
}

func route(dst netip.Prefix, via netip.Addr) *dhcpv4.Route {
	dst = dst.Masked()
	return &dhcpv4.Route{
		Dest:   &net.IPNet{IP: net.IP(dst.Addr().AsSlice()), Mask: net.CIDRMask(dst.Bits(), 32)},
		Router: net.IP(via.AsSlice()),
	}
}
