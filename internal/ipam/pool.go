package ipam

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"sort"
)

// Errors returned by Pool methods.
var (
	// ErrExhausted means no address of the allocation ranges is free.
	ErrExhausted = errors.New("ipam: no free address")
	// ErrInUse means the address is already allocated.
	ErrInUse = errors.New("ipam: address in use")
	// ErrOutside means the address is not in the subnet.
	ErrOutside = errors.New("ipam: address outside the subnet")
)

// Range is an inclusive range of addresses, as Neutron's allocation pools.
type Range struct {
	Start netip.Addr `json:"start"`
	End   netip.Addr `json:"end"`
}

// Span is an inclusive run of used offsets from the subnet's first address.
type Span struct {
	Lo, Hi uint64
}

// Pool is the allocation state of one subnet. The zero value is unusable;
// build one with New. It marshals to JSON as is.
type Pool struct {
	Prefix netip.Prefix `json:"prefix"`
	Ranges []Range      `json:"ranges"`
	// Used holds the allocated offsets: sorted, disjoint, never adjacent.
	Used []Span `json:"used,omitempty"`
	// Next is the offset the next allocation starts looking from.
	Next uint64 `json:"next"`
}

// New returns an empty pool for prefix with the given allocation ranges;
// with no ranges it uses DefaultRanges(prefix, gateway).
func New(prefix netip.Prefix, ranges []Range, gateway netip.Addr) (*Pool, error) {
	prefix = prefix.Masked()
	if len(ranges) == 0 {
		ranges = DefaultRanges(prefix, gateway)
	}
	p := &Pool{Prefix: prefix}
	for _, r := range ranges {
		if !prefix.Contains(r.Start) || !prefix.Contains(r.End) || r.End.Less(r.Start) {
			return nil, fmt.Errorf("allocation pool %s-%s is not within %s", r.Start, r.End, prefix)
		}
	}
	sorted := append([]Range(nil), ranges...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start.Less(sorted[j].Start) })
	for i := 1; i < len(sorted); i++ {
		if !sorted[i-1].End.Less(sorted[i].Start) {
			return nil, fmt.Errorf("allocation pools %s-%s and %s-%s overlap", sorted[i-1].Start, sorted[i-1].End, sorted[i].Start, sorted[i].End)
		}
	}
	p.Ranges = sorted
	if len(sorted) > 0 {
		p.Next = p.offset(sorted[0].Start)
	}
	return p, nil
}

// DefaultRanges is Neutron's default allocation pool: every host address of
// the prefix but the gateway (IPv4 drops the network and broadcast
// addresses, IPv6 the subnet-router anycast address).
func DefaultRanges(prefix netip.Prefix, gateway netip.Addr) []Range {
	prefix = prefix.Masked()
	first := prefix.Addr()
	last := lastAddr(prefix)
	if prefix.Addr().Is4() && prefix.Bits() >= 31 {
		return splitAround(Range{first, last}, gateway)
	}
	first = first.Next()
	if prefix.Addr().Is4() {
		last = last.Prev()
	}
	if last.Less(first) {
		return nil
	}
	return splitAround(Range{first, last}, gateway)
}

func splitAround(r Range, gw netip.Addr) []Range {
	if !gw.IsValid() || gw.Less(r.Start) || r.End.Less(gw) {
		return []Range{r}
	}
	var out []Range
	if r.Start.Less(gw) {
		out = append(out, Range{r.Start, gw.Prev()})
	}
	if gw.Less(r.End) {
		out = append(out, Range{gw.Next(), r.End})
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// offset is a's distance from the prefix's first address, in the low 64 bits.
func (p *Pool) offset(a netip.Addr) uint64 {
	x, y := low64(a), low64(p.Prefix.Addr())
	return x - y
}

func (p *Pool) addr(off uint64) netip.Addr {
	base := p.Prefix.Addr()
	if base.Is4() {
		v := binary.BigEndian.Uint32(base.AsSlice()) + uint32(off)
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], v)
		return netip.AddrFrom4(b)
	}
	b := base.As16()
	v := binary.BigEndian.Uint64(b[8:]) + off
	binary.BigEndian.PutUint64(b[8:], v)
	return netip.AddrFrom16(b)
}

func low64(a netip.Addr) uint64 {
	if a.Is4() {
		return uint64(binary.BigEndian.Uint32(a.AsSlice()))
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[8:])
}

// Contains reports whether a is in the subnet.
func (p *Pool) Contains(a netip.Addr) bool { return a.IsValid() && p.Prefix.Contains(a) }

// InRanges reports whether a is in one of the allocation ranges.
func (p *Pool) InRanges(a netip.Addr) bool {
	for _, r := range p.Ranges {
		if !a.Less(r.Start) && !r.End.Less(a) {
			return true
		}
	}
	return false
}

// IsUsed reports whether a is allocated.
func (p *Pool) IsUsed(a netip.Addr) bool {
	if !p.Contains(a) {
		return false
	}
	_, ok := p.find(p.offset(a))
	return ok
}

// find returns the index of the first span with Hi >= off and whether that
// span contains off.
func (p *Pool) find(off uint64) (int, bool) {
	i := sort.Search(len(p.Used), func(i int) bool { return p.Used[i].Hi >= off })
	return i, i < len(p.Used) && p.Used[i].Lo <= off
}

// Reserve marks a used: an explicit fixed IP, a gateway or a router leg. The
// address may lie outside the allocation ranges but not outside the subnet.
func (p *Pool) Reserve(a netip.Addr) error {
	if !p.Contains(a) {
		return ErrOutside
	}
	off := p.offset(a)
	i, ok := p.find(off)
	if ok {
		return ErrInUse
	}
	p.insert(i, off)
	return nil
}

func (p *Pool) insert(i int, off uint64) {
	joinLeft := i > 0 && p.Used[i-1].Hi+1 == off
	joinRight := i < len(p.Used) && p.Used[i].Lo == off+1
	switch {
	case joinLeft && joinRight:
		p.Used[i-1].Hi = p.Used[i].Hi
		p.Used = append(p.Used[:i], p.Used[i+1:]...)
	case joinLeft:
		p.Used[i-1].Hi = off
	case joinRight:
		p.Used[i].Lo = off
	default:
		p.Used = append(p.Used, Span{})
		copy(p.Used[i+1:], p.Used[i:])
		p.Used[i] = Span{off, off}
	}
}

// Release frees a; releasing a free or foreign address does nothing.
func (p *Pool) Release(a netip.Addr) {
	if !p.Contains(a) {
		return
	}
	off := p.offset(a)
	i, ok := p.find(off)
	if !ok {
		return
	}
	s := p.Used[i]
	switch {
	case s.Lo == off && s.Hi == off:
		p.Used = append(p.Used[:i], p.Used[i+1:]...)
	case s.Lo == off:
		p.Used[i].Lo++
	case s.Hi == off:
		p.Used[i].Hi--
	default:
		p.Used = append(p.Used, Span{})
		copy(p.Used[i+2:], p.Used[i+1:])
		p.Used[i] = Span{s.Lo, off - 1}
		p.Used[i+1] = Span{off + 1, s.Hi}
	}
}

// Allocate hands out the first free address of the ranges at or after the
// cursor, wrapping once, and moves the cursor past it.
func (p *Pool) Allocate() (netip.Addr, error) {
	if len(p.Ranges) == 0 {
		return netip.Addr{}, ErrExhausted
	}
	start := p.Next
	if off, ok := p.firstFree(start, ^uint64(0)); ok {
		return p.take(off), nil
	}
	if off, ok := p.firstFree(0, start); ok {
		return p.take(off), nil
	}
	return netip.Addr{}, ErrExhausted
}

func (p *Pool) take(off uint64) netip.Addr {
	i, _ := p.find(off)
	p.insert(i, off)
	p.Next = off + 1
	return p.addr(off)
}

// firstFree returns the lowest free offset in [from, to) within the ranges.
func (p *Pool) firstFree(from, to uint64) (uint64, bool) {
	for _, r := range p.Ranges {
		lo, hi := p.offset(r.Start), p.offset(r.End)
		if hi < from || lo >= to {
			continue
		}
		x := max(lo, from)
		for x <= hi && x < to {
			i, used := p.find(x)
			if !used {
				return x, true
			}
			if p.Used[i].Hi == ^uint64(0) {
				break
			}
			x = p.Used[i].Hi + 1
		}
	}
	return 0, false
}

// Size returns how many addresses the ranges hold (saturating).
func (p *Pool) Size() *big.Int {
	n := new(big.Int)
	for _, r := range p.Ranges {
		d := new(big.Int).SetUint64(p.offset(r.End) - p.offset(r.Start))
		n.Add(n, d.Add(d, big.NewInt(1)))
	}
	return n
}

// UsedInRanges counts the allocated addresses that lie in the ranges.
func (p *Pool) UsedInRanges() uint64 {
	var n uint64
	for _, r := range p.Ranges {
		lo, hi := p.offset(r.Start), p.offset(r.End)
		for _, s := range p.Used {
			a, b := max(s.Lo, lo), min(s.Hi, hi)
			if a <= b {
				n += b - a + 1
			}
		}
	}
	return n
}

// UsedCount counts every allocated address.
func (p *Pool) UsedCount() uint64 {
	var n uint64
	for _, s := range p.Used {
		n += s.Hi - s.Lo + 1
	}
	return n
}

// MAC returns a random unicast MAC address with prefix (three octets such as
// "fa:16:3e", OpenStack's).
func MAC(prefix [3]byte) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", prefix[0], prefix[1], prefix[2], b[0], b[1], b[2])
}

// DefaultMACPrefix is OpenStack's base_mac prefix.
var DefaultMACPrefix = [3]byte{0xfa, 0x16, 0x3e}

// EUI64 returns the SLAAC address of mac in a /64 prefix.
func EUI64(prefix netip.Prefix, mac string) (netip.Addr, error) {
	var m [6]byte
	if _, err := fmt.Sscanf(mac, "%02x:%02x:%02x:%02x:%02x:%02x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]); err != nil {
		return netip.Addr{}, fmt.Errorf("bad MAC %q", mac)
	}
	b := prefix.Masked().Addr().As16()
	b[8] = m[0] ^ 0x02
	b[9], b[10], b[11], b[12] = m[1], m[2], 0xff, 0xfe
	b[13], b[14], b[15] = m[3], m[4], m[5]
	return netip.AddrFrom16(b), nil
}
