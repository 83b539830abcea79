package linux

import (
	"errors"

	"github.com/vishvananda/netlink"
)

// dump runs a netlink dump again when the kernel reports it was
// interrupted by a concurrent change (NLM_F_DUMP_INTR: the results may be
// incomplete), so that a level-triggered Sync never acts on a partial list.
func dump[T any](list func() (T, error)) (T, error) {
	var (
		out T
		err error
	)
	for range 10 {
		out, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, err
}
