package network

import (
	"context"
	"slices"

	"github.com/nubo-cloud/nubo/internal/store"
)

// TagResources maps the collection names of the tags extension to kinds.
var TagResources = map[string]string{
	"networks": kindNetwork, "subnets": kindSubnet, "ports": kindPort, "routers": kindRouter,
	"floatingips": kindFloatingIP, "security-groups": kindSecGroup, "subnetpools": kindSubnetPool,
}

// Tags returns a resource's tags.
func (s *Service) Tags(ctx context.Context, collection, id string) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx store.ReadTx) error {
		m, _, _, err := s.loadTagged(ctx, tx, collection, id)
		if err != nil {
			return err
		}
		out = orEmpty(m.meta().Tags)
		return nil
	})
	return out, err
}

// ChangeTags applies fn to a resource's tags (tags extension PUT/DELETE).
func (s *Service) ChangeTags(ctx context.Context, collection, id string, fn func([]string) ([]string, error)) ([]string, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	err = s.write(ctx, func(tx store.Tx) error {
		m, ref, unique, err := s.loadTagged(ctx, tx, collection, id)
		if err != nil {
			return err
		}
		if !canWrite(c, m.meta().ProjectID) {
			return forbidden("rule:update_%s:tags is disallowed by policy", collection)
		}
		tags, err := fn(slices.Clone(orEmpty(m.meta().Tags)))
		if err != nil {
			return err
		}
		for _, t := range tags {
			if t == "" || len(t) > 255 || slices.ContainsFunc([]rune(t), func(r rune) bool { return r == ',' || r == '/' }) {
				return invalidInput("'%s' is not a valid tag", t)
			}
		}
		seen := map[string]bool{}
		uniq := []string{}
		for _, t := range tags {
			if !seen[t] {
				seen[t] = true
				uniq = append(uniq, t)
			}
		}
		m.meta().Tags = uniq
		if err := s.touch(m.meta(), nil); err != nil {
			return err
		}
		out = uniq
		return put(tx, TagResources[collection], ref, m, unique, false)
	})
	return out, err
}

func (s *Service) loadTagged(ctx context.Context, tx store.ReadTx, collection, id string) (record, string, []string, error) {
	switch collection {
	case "networks":
		n, err := s.getNetwork(ctx, tx, id)
		if err != nil {
			return nil, "", nil, err
		}
		return n, n.ProjectID, segmentKey(n), nil
	case "subnets":
		sn, _, err := s.getSubnet(ctx, tx, id)
		if err != nil {
			return nil, "", nil, err
		}
		return sn, sn.NetworkID, nil, nil
	case "ports":
		p, err := s.getPort(ctx, tx, id)
		if err != nil {
			return nil, "", nil, err
		}
		return p, p.NetworkID, portUnique(p), nil
	case "routers":
		r, err := s.getRouter(ctx, tx, id)
		if err != nil {
			return nil, "", nil, err
		}
		return r, r.ProjectID, nil, nil
	case "floatingips":
		f, err := s.getFIP(ctx, tx, id)
		if err != nil {
			return nil, "", nil, err
		}
		return f, f.ProjectID, fipUnique(f), nil
	case "security-groups":
		g, err := s.getSG(ctx, tx, id)
		if err != nil {
			return nil, "", nil, err
		}
		return g, g.ProjectID, sgUnique(g), nil
	case "subnetpools":
		p, err := s.getPool(ctx, tx, id)
		if err != nil {
			return nil, "", nil, err
		}
		return p, p.ProjectID, nil, nil
	}
	return nil, "", nil, notFound("NotFound", "Resource", collection)
}
