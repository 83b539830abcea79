package compute

import (
	"context"
	"maps"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// MaxServerTags is Nova's per-server tag limit.
const MaxServerTags = 50

const (
	actionMetadata = "metadata"
	actionTags     = "tags"
)

func init() {
	// Metadata and tags change only in settled states (Nova's
	// check_instance_state on update_instance_metadata and the tags API).
	actionRules[actionMetadata] = actionRule{VMStates: []string{VMActive, VMPaused, VMSuspended, VMStopped, VMShelved, VMShelvedOffloaded, VMResized, VMRescued, VMError}}
	actionRules[actionTags] = actionRule{VMStates: []string{VMActive, VMPaused, VMSuspended, VMStopped, VMShelved, VMShelvedOffloaded, VMResized, VMRescued, VMError, VMBuilding}, AnyTask: true}
}

func (s *Service) checkMetadataQuota(tx store.ReadTx, sv *Server, n int) error {
	lim, err := effectiveQuota(tx, sv.ProjectID, sv.UserID)
	if err != nil {
		return err
	}
	if l := lim["metadata_items"]; l >= 0 && int64(n) > l {
		return fault.New(fault.Forbidden, "Quota exceeded for metadata_items: Requested %d, but already used 0 of %d metadata_items", n, l)
	}
	return nil
}

// ServerMetadata returns a server's metadata.
func (s *Service) ServerMetadata(ctx context.Context, id string) (map[string]string, error) {
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return nil, err
	}
	if sv.Metadata == nil {
		return map[string]string{}, nil
	}
	return sv.Metadata, nil
}

// SetServerMetadata merges md into the server's metadata, or replaces it
// all when replace is set, and returns the result.
func (s *Service) SetServerMetadata(ctx context.Context, id string, md map[string]string, replace bool) (map[string]string, error) {
	sv, err := s.mutateServer(ctx, id, actionMetadata, func(tx store.Tx, sv *Server) error {
		next := map[string]string{}
		if !replace {
			maps.Copy(next, sv.Metadata)
		}
		maps.Copy(next, md)
		if err := s.checkMetadataQuota(tx, sv, len(next)); err != nil {
			return err
		}
		sv.Metadata = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sv.Metadata, nil
}

// DeleteServerMetadata removes one key; 404 if absent.
func (s *Service) DeleteServerMetadata(ctx context.Context, id, key string) error {
	_, err := s.mutateServer(ctx, id, actionMetadata, func(_ store.Tx, sv *Server) error {
		if _, ok := sv.Metadata[key]; !ok {
			return notFound("Metadata item was not found")
		}
		delete(sv.Metadata, key)
		return nil
	})
	return err
}

// ServerTags returns a server's tags.
func (s *Service) ServerTags(ctx context.Context, id string) ([]string, error) {
	sv, err := s.GetServer(ctx, id)
	if err != nil {
		return nil, err
	}
	if sv.Tags == nil {
		return []string{}, nil
	}
	return sv.Tags, nil
}

// SetServerTags replaces every tag.
func (s *Service) SetServerTags(ctx context.Context, id string, tags []string) ([]string, error) {
	if len(tags) > MaxServerTags {
		return nil, badRequest("The number of tags exceeded the per-server limit %d", MaxServerTags)
	}
	sv, err := s.mutateServer(ctx, id, actionTags, func(_ store.Tx, sv *Server) error {
		out := []string{}
		for _, t := range tags {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
		sv.Tags = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sv.Tags, nil
}

// AddServerTag adds one tag; it reports whether the tag is new.
func (s *Service) AddServerTag(ctx context.Context, id, tag string) (bool, error) {
	added := false
	_, err := s.mutateServer(ctx, id, actionTags, func(_ store.Tx, sv *Server) error {
		if slices.Contains(sv.Tags, tag) {
			return nil
		}
		if len(sv.Tags) >= MaxServerTags {
			return badRequest("The number of tags exceeded the per-server limit %d", MaxServerTags)
		}
		sv.Tags, added = append(sv.Tags, tag), true
		return nil
	})
	return added, err
}

// DeleteServerTag removes one tag (404 if absent); tag "" removes all.
func (s *Service) DeleteServerTag(ctx context.Context, id, tag string, all bool) error {
	_, err := s.mutateServer(ctx, id, actionTags, func(_ store.Tx, sv *Server) error {
		if all {
			sv.Tags = nil
			return nil
		}
		if !slices.Contains(sv.Tags, tag) {
			return notFound("Tag '%s' could not be found.", tag)
		}
		sv.Tags = slices.DeleteFunc(sv.Tags, func(t string) bool { return t == tag })
		return nil
	})
	return err
}
