package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// kindDomainConfig is the record kind of domain-specific configurations;
// the ID is the domain ID.
const kindDomainConfig = "identity.domain_config"

// DomainConfig is a domain-specific configuration: option values by group
// and option name. Values are kept as the JSON the client sent.
//
// Nubo stores domain configurations and serves Keystone's domain
// configuration API with Keystone's rules (only the "identity" and "ldap"
// groups and their whitelisted or sensitive options; sensitive options such
// as the LDAP password are stored but never returned), but it has no
// domain-specific identity drivers: every domain's users and groups live in
// Nubo's own store, whatever the configuration says.
type DomainConfig map[string]map[string]json.RawMessage

// domainConfigOptions are the options Keystone lets a domain override and
// shows back (its whitelisted options).
var domainConfigOptions = map[string][]string{
	"identity": {"driver", "list_limit"},
	"ldap": {
		"url", "user", "suffix", "query_scope", "page_size",
		"alias_dereferencing", "debug_level", "chase_referrals",
		"user_tree_dn", "user_filter", "user_objectclass",
		"user_id_attribute", "user_name_attribute", "user_mail_attribute",
		"user_description_attribute", "user_pass_attribute",
		"user_enabled_attribute", "user_enabled_invert",
		"user_enabled_mask", "user_enabled_default",
		"user_attribute_ignore", "user_default_project_id_attribute",
		"user_enabled_emulation", "user_enabled_emulation_dn",
		"user_enabled_emulation_use_group_config",
		"user_additional_attribute_mapping", "group_tree_dn",
		"group_filter", "group_objectclass", "group_id_attribute",
		"group_name_attribute", "group_members_are_ids",
		"group_member_attribute", "group_desc_attribute",
		"group_attribute_ignore", "group_additional_attribute_mapping",
		"tls_cacertfile", "tls_cacertdir", "use_tls", "tls_req_cert",
		"use_pool", "pool_size", "pool_retry_max", "pool_retry_delay",
		"pool_connection_timeout", "pool_connection_lifetime",
		"use_auth_pool", "auth_pool_size", "auth_pool_connection_lifetime",
	},
}

// domainConfigSensitive are options a domain may set but that are never shown.
var domainConfigSensitive = map[string][]string{
	"identity": {},
	"ldap":     {"password"},
}

// domainConfigDefaults are the values the default configuration endpoints
// show: Keystone's defaults for its [identity] and [ldap] sections.
var domainConfigDefaults = map[string]map[string]any{
	"identity": {"driver": "sql", "list_limit": nil},
	"ldap": {
		"url": "ldap://localhost", "user": nil, "suffix": "cn=example,dc=com", "query_scope": "one",
		"page_size": 0, "alias_dereferencing": "default", "debug_level": nil, "chase_referrals": nil,
		"user_tree_dn": nil, "user_filter": nil, "user_objectclass": "inetOrgPerson",
		"user_id_attribute": "cn", "user_name_attribute": "sn", "user_mail_attribute": "mail",
		"user_description_attribute": "description", "user_pass_attribute": "userPassword",
		"user_enabled_attribute": "enabled", "user_enabled_invert": false, "user_enabled_mask": 0,
		"user_enabled_default": "True", "user_attribute_ignore": []string{"default_project_id"},
		"user_default_project_id_attribute": nil, "user_enabled_emulation": false,
		"user_enabled_emulation_dn": nil, "user_enabled_emulation_use_group_config": false,
		"user_additional_attribute_mapping": []string{}, "group_tree_dn": nil, "group_filter": nil,
		"group_objectclass": "groupOfNames", "group_id_attribute": "cn", "group_name_attribute": "ou",
		"group_members_are_ids": false, "group_member_attribute": "member",
		"group_desc_attribute": "description", "group_attribute_ignore": []string{},
		"group_additional_attribute_mapping": []string{}, "tls_cacertfile": nil, "tls_cacertdir": nil,
		"use_tls": false, "tls_req_cert": "demand", "use_pool": true, "pool_size": 10,
		"pool_retry_max": 3, "pool_retry_delay": 0.1, "pool_connection_timeout": -1,
		"pool_connection_lifetime": 600, "use_auth_pool": true, "auth_pool_size": 100,
		"auth_pool_connection_lifetime": 60,
	},
}

// securityComplianceGroup is the read-only group every user may read on the
// default domain (the password rules).
const securityComplianceGroup = "security_compliance"

func invalidDomainConfig(format string, args ...any) error {
	return fault.New(fault.Forbidden, "Invalid domain specific configuration: %s.", fmt.Sprintf(format, args...))
}

func domainConfigNotFound(domainID, group, option string) error {
	what := "any options"
	switch {
	case option != "":
		what = "option " + option + " in group " + group
	case group != "":
		what = "group " + group
	}
	return fault.New(fault.NotFound, "Could not find %s in domain configuration for domain %s.", what, domainID)
}

func checkGroupOption(group, option string) error {
	if group == "" {
		return nil
	}
	if _, ok := domainConfigOptions[group]; !ok {
		return invalidDomainConfig("Group %s is not supported for domain specific configurations", group)
	}
	if option != "" && !slices.Contains(domainConfigOptions[group], option) && !slices.Contains(domainConfigSensitive[group], option) {
		return invalidDomainConfig("Option %s in group %s is not supported for domain specific configurations", option, group)
	}
	return nil
}

// checkConfig validates a configuration a client sent: a non-empty object of
// groups, each a non-empty object of supported options.
func checkConfig(raw map[string]json.RawMessage) (DomainConfig, error) {
	if len(raw) == 0 {
		return nil, invalidDomainConfig("No options specified")
	}
	out := DomainConfig{}
	for _, group := range slices.Sorted(maps.Keys(raw)) {
		var opts map[string]json.RawMessage
		if err := json.Unmarshal(raw[group], &opts); err != nil || len(opts) == 0 {
			return nil, invalidDomainConfig("The value of group %s specified in the config should be a dictionary of options", group)
		}
		for _, option := range slices.Sorted(maps.Keys(opts)) {
			if err := checkGroupOption(group, option); err != nil {
				return nil, err
			}
		}
		out[group] = opts
	}
	return out, nil
}

// visible returns the shown (whitelisted) part of a configuration, narrowed
// to group and option when they are set. Asking for one option gives
// {option: value}; otherwise {group: {option: value}}.
func (c DomainConfig) visible(group, option string) map[string]any {
	out := map[string]any{}
	for g, opts := range c {
		if group != "" && g != group {
			continue
		}
		shown := map[string]any{}
		for o, v := range opts {
			if !slices.Contains(domainConfigOptions[g], o) || (option != "" && o != option) {
				continue
			}
			if option != "" {
				return map[string]any{o: v}
			}
			shown[o] = v
		}
		if len(shown) > 0 {
			out[g] = shown
		}
	}
	return out
}

func readDomainConfig(tx store.ReadTx, domainID string) (DomainConfig, error) {
	c, err := store.Get[DomainConfig](tx, kindDomainConfig, domainID)
	if errors.Is(err, store.ErrNotFound) {
		return DomainConfig{}, nil
	}
	if err != nil {
		return nil, err
	}
	return *c, nil
}

func putDomainConfig(tx store.Tx, domainID string, c DomainConfig) error {
	for g, opts := range c {
		if len(opts) == 0 {
			delete(c, g)
		}
	}
	_, err := tx.Get(kindDomainConfig, domainID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if len(c) == 0 {
			return nil
		}
		return tx.Create(store.Record{Kind: kindDomainConfig, ID: domainID, Value: c})
	case err != nil:
		return err
	case len(c) == 0:
		return tx.Delete(kindDomainConfig, domainID)
	default:
		return tx.Update(store.Record{Kind: kindDomainConfig, ID: domainID, Value: c})
	}
}

// CreateDomainConfig replaces a domain's configuration. created is false
// when the domain already had one. The result shows no sensitive option.
func (s *Service) CreateDomainConfig(ctx context.Context, domainID string, raw map[string]json.RawMessage) (out map[string]any, created bool, err error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, false, err
	}
	err = s.write(ctx, func(tx store.Tx) error {
		if _, err := get[Domain](tx, kindDomain, "domain", domainID); err != nil {
			return err
		}
		c, err := checkConfig(raw)
		if err != nil {
			return err
		}
		old, err := readDomainConfig(tx, domainID)
		if err != nil {
			return err
		}
		created = len(old) == 0
		if err := putDomainConfig(tx, domainID, c); err != nil {
			return err
		}
		out = c.visible("", "")
		return nil
	})
	return out, created, err
}

// GetDomainConfig returns a domain's configuration, or one group or option
// of it. The security_compliance group is readable by every caller, on the
// default domain only.
func (s *Service) GetDomainConfig(ctx context.Context, domainID, group, option string) (map[string]any, error) {
	if group == securityComplianceGroup {
		return s.securityComplianceConfig(ctx, domainID, option)
	}
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out map[string]any
	err := s.read(ctx, func(tx store.ReadTx) error {
		_, derr := get[Domain](tx, kindDomain, "domain", domainID)
		if err := checkGroupOption(group, option); err != nil {
			return err
		}
		if derr != nil {
			return derr
		}
		c, err := readDomainConfig(tx, domainID)
		if err != nil {
			return err
		}
		out = c.visible(group, option)
		if len(out) == 0 {
			return domainConfigNotFound(domainID, group, option)
		}
		return nil
	})
	return out, err
}

func (s *Service) securityComplianceConfig(ctx context.Context, domainID, option string) (map[string]any, error) {
	if creds(ctx) == nil {
		return nil, forbidden()
	}
	if domainID != DefaultDomainID {
		return nil, invalidDomainConfig("Reading security compliance information for any domain other than the default domain is not allowed or supported")
	}
	readable := []string{"password_regex", "password_regex_description"}
	if option != "" {
		if !slices.Contains(readable, option) {
			return nil, invalidDomainConfig("Reading security compliance values other than password_regex and password_regex_description is not allowed")
		}
		return map[string]any{option: nil}, nil
	}
	// Nubo has no password complexity rule to advertise.
	return map[string]any{securityComplianceGroup: map[string]any{"password_regex": nil, "password_regex_description": nil}}, nil
}

// UpdateDomainConfig merges raw into a domain's configuration and returns
// the whole (shown) configuration. With a group, raw must hold that group
// only, and the group must already be configured; with an option, raw is
// {option: value} and the option must already be set.
func (s *Service) UpdateDomainConfig(ctx context.Context, domainID, group, option string, raw map[string]json.RawMessage) (map[string]any, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out map[string]any
	err := s.write(ctx, func(tx store.Tx) error {
		if _, err := get[Domain](tx, kindDomain, "domain", domainID); err != nil {
			return err
		}
		if group != "" && option != "" {
			// The body is {option: value}; treat it as {group: {option: value}}.
			if len(raw) == 0 {
				return invalidDomainConfig("No options specified")
			}
			b, err := json.Marshal(raw)
			if err != nil {
				return err
			}
			raw = map[string]json.RawMessage{group: b}
		}
		upd, err := checkConfig(raw)
		if err != nil {
			return err
		}
		if err := checkGroupOption(group, option); err != nil {
			return err
		}
		cur, err := readDomainConfig(tx, domainID)
		if err != nil {
			return err
		}
		if group != "" {
			if len(upd) != 1 || (option != "" && len(upd[group]) != 1) {
				if option != "" {
					return invalidDomainConfig("Trying to update option %s in group %s, so that, and only that, option must be specified  in the config", option, group)
				}
				return invalidDomainConfig("Trying to update group %s, so that, and only that, group must be specified in the config", group)
			}
			if _, ok := upd[group]; !ok {
				for other := range upd {
					return invalidDomainConfig("request to update group %s, but config provided contains group %s instead", group, other)
				}
			}
			if _, ok := upd[group][option]; option != "" && !ok {
				for other := range upd[group] {
					return invalidDomainConfig("Trying to update option %s in group %s, but config provided contains option %s instead", option, group, other)
				}
			}
			if _, ok := cur[group][option]; len(cur[group]) == 0 || (option != "" && !ok) {
				return domainConfigNotFound(domainID, group, option)
			}
		}
		for g, opts := range upd {
			if cur[g] == nil {
				cur[g] = map[string]json.RawMessage{}
			}
			for o, v := range opts {
				cur[g][o] = v
			}
		}
		if err := putDomainConfig(tx, domainID, cur); err != nil {
			return err
		}
		out = cur.visible("", "")
		return nil
	})
	return out, err
}

// DeleteDomainConfig removes a domain's configuration, or one group or
// option of it (which must exist).
func (s *Service) DeleteDomainConfig(ctx context.Context, domainID, group, option string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if _, err := get[Domain](tx, kindDomain, "domain", domainID); err != nil {
			return err
		}
		if err := checkGroupOption(group, option); err != nil {
			return err
		}
		cur, err := readDomainConfig(tx, domainID)
		if err != nil {
			return err
		}
		switch {
		case group == "":
			cur = DomainConfig{}
		case len(cur[group]) == 0:
			return domainConfigNotFound(domainID, group, "")
		case option == "":
			delete(cur, group)
		default:
			if _, ok := cur[group][option]; !ok {
				return domainConfigNotFound(domainID, group, option)
			}
			delete(cur[group], option)
		}
		return putDomainConfig(tx, domainID, cur)
	})
}

// DefaultDomainConfig returns the default values of the configurable
// options, or of one group or option; sensitive options have none to show.
func (s *Service) DefaultDomainConfig(ctx context.Context, group, option string) (map[string]any, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	if err := checkGroupOption(group, option); err != nil {
		return nil, err
	}
	if option != "" {
		if !slices.Contains(domainConfigOptions[group], option) {
			return nil, invalidDomainConfig("Reading the default for option %s in group %s is not supported", option, group)
		}
		return map[string]any{option: domainConfigDefaults[group][option]}, nil
	}
	out := map[string]any{}
	for g, opts := range domainConfigOptions {
		if group != "" && g != group {
			continue
		}
		vals := map[string]any{}
		for _, o := range opts {
			vals[o] = domainConfigDefaults[g][o]
		}
		out[g] = vals
	}
	return out, nil
}
