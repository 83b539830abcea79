// Package ipam allocates IP addresses within a subnet and generates MAC
// addresses. It is pure: no store, no HTTP, no clock. A Pool is a value the
// network domain keeps in one record per subnet and changes inside the
// store's serialised write transactions, which is what makes concurrent
// allocations safe; the package itself holds no locks.
//
// Allocation is next-fit: a cursor walks the allocation ranges, so an address
// that was released is handed out again only after every never-used address
// (the cursor has to wrap to reach it). Used addresses are kept as a sorted
// list of disjoint spans, so a /16 (or an IPv6 /64) costs O(log n) per
// allocation and a few bytes per contiguous block when stored.
package ipam
