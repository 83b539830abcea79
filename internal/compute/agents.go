package compute

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/store"
)

// KindAgent is the record kind of guest agent builds.
const KindAgent = "compute.agent"

// Agent is a guest agent build (os-agents, Nova's API up to Train): which
// agent a guest of a hypervisor, OS and architecture should run, recorded
// by admins for images that update their agent. Nubo only keeps the
// records; no host reads them.
type Agent struct {
	ID           int64  `json:"id"`
	Hypervisor   string `json:"hypervisor"`
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Version      string `json:"version"`
	URL          string `json:"url"`
	MD5Hash      string `json:"md5hash"`
}

func agentRecord(a *Agent) store.Record {
	return store.Record{Kind: KindAgent, ID: strconv.FormatInt(a.ID, 10),
		Unique: []string{"build:" + a.Hypervisor + "\x00" + a.OS + "\x00" + a.Architecture}, Value: a}
}

func agentNotFound(id string) error { return notFound("No agent-build associated with id %s.", id) }

// checkAgentFields validates the string fields of an agent build: each
// present and 1–255 characters (Nova's schema).
func checkAgentFields(fields map[string]string) error {
	for _, k := range []string{"hypervisor", "os", "architecture", "version", "url", "md5hash"} {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if strings.TrimSpace(v) == "" || len(v) > 255 {
			return badRequest("Invalid input for field/attribute %s. Value: %s. It must be 1 to 255 characters long.", k, v)
		}
	}
	return nil
}

// ListAgents returns the agent builds, of hypervisor only when not empty
// (admin).
func (s *Service) ListAgents(ctx context.Context, hypervisor string) ([]Agent, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var all []Agent
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		all, err = store.List[Agent](tx, KindAgent, store.ListOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(a Agent) bool { return hypervisor != "" && a.Hypervisor != hypervisor })
	slices.SortFunc(all, func(a, b Agent) int { return int(a.ID - b.ID) })
	return all, nil
}

// CreateAgent records an agent build (admin); one per hypervisor, OS and
// architecture (409).
func (s *Service) CreateAgent(ctx context.Context, a Agent) (*Agent, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if err := checkAgentFields(map[string]string{"hypervisor": a.Hypervisor, "os": a.OS, "architecture": a.Architecture,
		"version": a.Version, "url": a.URL, "md5hash": a.MD5Hash}); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if a.ID, err = nextSeq(tx, "agent"); err != nil {
			return err
		}
		err = tx.Create(agentRecord(&a))
		if errors.Is(err, store.ErrConflict) {
			return conflict("Agent-build with hypervisor %s os %s architecture %s exists.", a.Hypervisor, a.OS, a.Architecture)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateAgent changes an agent build's version, URL and MD5 hash (admin).
func (s *Service) UpdateAgent(ctx context.Context, id, version, url, md5hash string) (*Agent, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if err := checkAgentFields(map[string]string{"version": version, "url": url, "md5hash": md5hash}); err != nil {
		return nil, err
	}
	var a *Agent
	err := s.write(ctx, func(tx store.Tx) (err error) {
		a, err = store.Get[Agent](tx, KindAgent, id)
		if errors.Is(err, store.ErrNotFound) {
			return agentNotFound(id)
		}
		if err != nil {
			return err
		}
		a.Version, a.URL, a.MD5Hash = version, url, md5hash
		return tx.Update(agentRecord(a))
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// DeleteAgent removes an agent build (admin).
func (s *Service) DeleteAgent(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		err := tx.Delete(KindAgent, id)
		if errors.Is(err, store.ErrNotFound) {
			return agentNotFound(id)
		}
		return err
	})
}
