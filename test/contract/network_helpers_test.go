package contract

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// netAdmin returns a Networking client for the admin.
func netAdmin(t *testing.T, c *cloudtest.Cloud) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewNetworkV2(c.Provider(t, c.AdminOptions()), gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// netTenant creates a project with a member and returns its Networking
// client and project ID.
func netTenant(t *testing.T, c *cloudtest.Cloud, name string) (*gophercloud.ServiceClient, string) {
	t.Helper()
	tn := newTenant(t, c.Admin(t), name, "member")
	p := c.Provider(t, gophercloud.AuthOptions{IdentityEndpoint: c.AuthURL(), UserID: tn.User.ID, Password: tn.Password, TenantID: tn.Project.ID})
	sc, err := openstack.NewNetworkV2(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return sc, tn.Project.ID
}

// neutronType decodes the NeutronError type of a failed call.
func neutronType(t *testing.T, err error) string {
	t.Helper()
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		var uep *gophercloud.ErrUnexpectedResponseCode
		if !errors.As(err, &uep) {
			t.Fatalf("not an HTTP error: %v", err)
		}
		ue = *uep
	}
	var body struct {
		NeutronError struct {
			Type    string  `json:"type"`
			Message string  `json:"message"`
			Detail  *string `json:"detail"`
		}
	}
	if e := json.Unmarshal(ue.Body, &body); e != nil || body.NeutronError.Detail == nil {
		t.Fatalf("not a NeutronError body: %s", ue.Body)
	}
	return body.NeutronError.Type
}

func mkNet(t *testing.T, sc *gophercloud.ServiceClient, name string) *networks.Network {
	t.Helper()
	return must(networks.Create(context.Background(), sc, networks.CreateOpts{Name: name}).Extract())(t)
}

func mkSubnet(t *testing.T, sc *gophercloud.ServiceClient, netID, cidr string) *subnets.Subnet {
	t.Helper()
	return must(subnets.Create(context.Background(), sc, subnets.CreateOpts{NetworkID: netID, CIDR: cidr, IPVersion: gophercloud.IPv4}).Extract())(t)
}
