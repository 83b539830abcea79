package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	cases := []struct {
		data []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 99, 5 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 0, 1 * time.Millisecond},
		{ms(1, 2, 3, 4, 5), 100, 5 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.5, 100 * time.Millisecond},
		{hundred, 1, 1 * time.Millisecond},
	}
	for _, c := range cases {
		if got := Percentile(c.data, c.p); got != c.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(c.data), c.p, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	var lat []time.Duration
	for i := 1000; i >= 1; i-- { // descending: Summarize must sort
		lat = append(lat, time.Duration(i)*time.Microsecond)
	}
	s := Summarize(lat)
	if s.Count != 1000 || s.Min != time.Microsecond || s.Max != time.Millisecond {
		t.Fatalf("count/min/max = %d/%v/%v", s.Count, s.Min, s.Max)
	}
	if s.P50 != 500*time.Microsecond || s.P90 != 900*time.Microsecond || s.P99 != 990*time.Microsecond {
		t.Errorf("p50/p90/p99 = %v/%v/%v", s.P50, s.P90, s.P99)
	}
	if s.Mean != 500500*time.Nanosecond {
		t.Errorf("mean = %v", s.Mean)
	}
	if z := Summarize(nil); z.Count != 0 || z.P99 != 0 {
		t.Errorf("empty summary = %+v", z)
	}
}
