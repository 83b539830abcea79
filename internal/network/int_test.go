package network

import (
	"encoding/json"
	"testing"
)

func TestIntAcceptsStrings(t *testing.T) {
	var s NetworkSpec
	if err := json.Unmarshal([]byte(`{"mtu": "1400", "provider:segmentation_id": 7}`), &s); err != nil || int(*s.MTU) != 1400 || int(*s.SegmentationID) != 7 {
		t.Fatalf("got %v %v", s.MTU, err)
	}
}
