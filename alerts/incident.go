package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Incident is an open (rule, subject) condition. At most one exists per
// rule and subject across all nodes: opening one is a set-if-absent, and
// every later change is a compare-and-set on the whole record, so of two
// nodes racing only one changes it and only that one emits the event.
type Incident struct {
	// ID is random; events derive their ids from it.
	ID      string  `json:"id"`
	Rule    string  `json:"rule"`
	Subject Subject `json:"subject"`
	// OpenedAt is when the condition was first seen; Node opened it.
	OpenedAt time.Time `json:"opened_at"`
	Node     string    `json:"node,omitempty"`
	// LastNotified is when the last alert or reminder was emitted;
	// Reminders counts reminders.
	LastNotified time.Time `json:"last_notified"`
	Reminders    int       `json:"reminders,omitempty"`
	// ClearSince is when the condition was first seen below its resolve
	// line in the current recovery; nil while it is not recovering.
	ClearSince *time.Time `json:"clear_since,omitempty"`
	// Baseline is the surge rule's baseline share when the incident
	// opened; recovery is measured against it.
	Baseline float64 `json:"baseline,omitempty"`
	// PeakShare is the highest share measured while open.
	PeakShare float64 `json:"peak_share,omitempty"`
	// Outgoing is an event decided but not yet confirmed in the outbox.
	// The node that wrote it enqueues it and clears it; if that node dies
	// in between, another enqueues it (the same event id) after a grace
	// period. Resolving sets Outgoing and deletes the incident once queued.
	Outgoing *Event `json:"outgoing,omitempty"`
	// OutgoingAt is when Outgoing was set.
	OutgoingAt time.Time `json:"outgoing_at,omitzero"`
	// Resolving marks an incident whose resolved notice is Outgoing.
	Resolving bool `json:"resolving,omitempty"`

	// raw is the record as stored, the "compare" of compare-and-set.
	raw string
}

// key is the incident's key without store prefix.
func (inc *Incident) key() string { return incidentKey(inc.Rule, inc.Subject) }

// clone returns a copy to modify and pass to Update as the new record.
func (inc *Incident) clone() *Incident {
	c := *inc
	if inc.ClearSince != nil {
		t := *inc.ClearSince
		c.ClearSince = &t
	}
	c.raw = ""
	return &c
}

func (inc *Incident) encode() (string, error) {
	b, err := json.Marshal(inc)
	if err != nil {
		return "", fmt.Errorf("alerts: encode incident: %w", err)
	}
	return string(b), nil
}

func decodeIncident(raw string) (*Incident, error) {
	inc := &Incident{}
	if err := json.Unmarshal([]byte(raw), inc); err != nil {
		return nil, fmt.Errorf("alerts: decode incident: %w", err)
	}
	inc.raw = raw
	return inc, nil
}

// IncidentStore keeps open incidents where every node sees them:
// [MemoryIncidents] in one process, [RedisIncidents] across nodes.
type IncidentStore interface {
	// Create stores inc if no incident of its rule and subject is open,
	// reporting whether it did; ttl bounds how long an incident survives
	// if no evaluator touches it again.
	Create(ctx context.Context, inc *Incident, ttl time.Duration) (bool, error)
	// Get returns the open incident of rule about s, or nil.
	Get(ctx context.Context, rule string, s Subject) (*Incident, error)
	// Update replaces old (as returned by Get, List or Create) with next
	// if the stored record is still old, reporting whether it did.
	Update(ctx context.Context, old, next *Incident, ttl time.Duration) (bool, error)
	// Delete removes old if the stored record is still old.
	Delete(ctx context.Context, old *Incident) (bool, error)
	// Touch extends an open incident's ttl.
	Touch(ctx context.Context, inc *Incident, ttl time.Duration) error
	// List returns every open incident, ordered by rule and subject.
	List(ctx context.Context) ([]*Incident, error)
}

// MemoryIncidents is the embedded [IncidentStore]: a map under a mutex.
type MemoryIncidents struct {
	mu  sync.Mutex
	m   map[string]memIncident
	now func() time.Time
}

type memIncident struct {
	raw     string
	expires time.Time
}

var _ IncidentStore = (*MemoryIncidents)(nil)

// NewMemoryIncidents returns an empty store; expiry follows the wall
// clock.
func NewMemoryIncidents() *MemoryIncidents {
	return &MemoryIncidents{m: make(map[string]memIncident), now: time.Now}
}

func (s *MemoryIncidents) live(key string) (memIncident, bool) {
	e, ok := s.m[key]
	if ok && !s.now().Before(e.expires) {
		delete(s.m, key)
		return memIncident{}, false
	}
	return e, ok
}

// Create implements [IncidentStore].
func (s *MemoryIncidents) Create(_ context.Context, inc *Incident, ttl time.Duration) (bool, error) {
	raw, err := inc.encode()
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.live(inc.key()); ok {
		return false, nil
	}
	s.m[inc.key()] = memIncident{raw: raw, expires: s.now().Add(ttl)}
	inc.raw = raw
	return true, nil
}

// Get implements [IncidentStore].
func (s *MemoryIncidents) Get(_ context.Context, rule string, subj Subject) (*Incident, error) {
	s.mu.Lock()
	e, ok := s.live(incidentKey(rule, subj))
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return decodeIncident(e.raw)
}

// Update implements [IncidentStore].
func (s *MemoryIncidents) Update(_ context.Context, old, next *Incident, ttl time.Duration) (bool, error) {
	raw, err := next.encode()
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(old.key())
	if !ok || e.raw != old.raw {
		return false, nil
	}
	s.m[old.key()] = memIncident{raw: raw, expires: s.now().Add(ttl)}
	next.raw = raw
	return true, nil
}

// Delete implements [IncidentStore].
func (s *MemoryIncidents) Delete(_ context.Context, old *Incident) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(old.key())
	if !ok || e.raw != old.raw {
		return false, nil
	}
	delete(s.m, old.key())
	return true, nil
}

// Touch implements [IncidentStore].
func (s *MemoryIncidents) Touch(_ context.Context, inc *Incident, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.live(inc.key()); ok {
		e.expires = s.now().Add(ttl)
		s.m[inc.key()] = e
	}
	return nil
}

// List implements [IncidentStore].
func (s *MemoryIncidents) List(_ context.Context) ([]*Incident, error) {
	s.mu.Lock()
	raws := make([]string, 0, len(s.m))
	for k := range s.m {
		if e, ok := s.live(k); ok {
			raws = append(raws, e.raw)
		}
	}
	s.mu.Unlock()
	out := make([]*Incident, 0, len(raws))
	for _, raw := range raws {
		inc, err := decodeIncident(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	sortIncidents(out)
	return out, nil
}

func sortIncidents(incs []*Incident) {
	slices.SortFunc(incs, func(a, b *Incident) int {
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return strings.Compare(a.key(), b.key())
	})
}

// RedisIncidents is the [IncidentStore] shared by nodes through Redis
// (standalone, Sentinel or Cluster). Each incident is one STRING,
// P:{subject}:inc:<rule>, opened with SET NX PX and changed by Lua
// compare-and-set scripts on that one key: hash-tagged by subject, so
// every command touches one slot and works on a Cluster. A SET of keys,
// P:alerts:incidents, lets List find them without SCAN.
type RedisIncidents struct {
	c redis.UniversalClient
	k coordKeys
}

var _ IncidentStore = (*RedisIncidents)(nil)

// NewRedisIncidents returns a store under prefix (default "mw"); it does
// not contact Redis.
func NewRedisIncidents(client redis.UniversalClient, prefix string) (*RedisIncidents, error) {
	if client == nil {
		return nil, errors.New("alerts: NewRedisIncidents: client is nil")
	}
	k, err := newCoordKeys(prefix)
	if err != nil {
		return nil, err
	}
	return &RedisIncidents{c: client, k: k}, nil
}

// casScript replaces KEYS[1] with ARGV[2] (PX ARGV[3]) if it holds
// ARGV[1]; with ARGV[2] empty it deletes it. Returns 1 if it did.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`)

func (s *RedisIncidents) key(inc *Incident) string { return s.k.incident(inc.Rule, inc.Subject) }

// Create implements [IncidentStore] with SET key value NX PX ttl.
func (s *RedisIncidents) Create(ctx context.Context, inc *Incident, ttl time.Duration) (bool, error) {
	raw, err := inc.encode()
	if err != nil {
		return false, err
	}
	key := s.key(inc)
	res, err := s.c.Do(ctx, "SET", key, raw, "NX", "PX", ttl.Milliseconds()).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("alerts: redis incidents: open %s: %w", key, err)
	}
	if res != "OK" {
		return false, nil
	}
	inc.raw = raw
	if err := s.c.SAdd(ctx, s.k.incidentIndex(), key).Err(); err != nil {
		// The incident is open; the next evaluation that sees it firing
		// finds it with Get and indexes it again.
		return true, fmt.Errorf("alerts: redis incidents: index %s: %w", key, err)
	}
	return true, nil
}

// Get implements [IncidentStore]. It also (re)indexes the incident, so one
// whose SADD failed is found by List again.
func (s *RedisIncidents) Get(ctx context.Context, rule string, subj Subject) (*Incident, error) {
	key := s.k.incident(rule, subj)
	raw, err := s.c.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("alerts: redis incidents: get %s: %w", key, err)
	}
	if err := s.c.SAdd(ctx, s.k.incidentIndex(), key).Err(); err != nil {
		return nil, fmt.Errorf("alerts: redis incidents: index %s: %w", key, err)
	}
	return decodeIncident(raw)
}

// Update implements [IncidentStore].
func (s *RedisIncidents) Update(ctx context.Context, old, next *Incident, ttl time.Duration) (bool, error) {
	raw, err := next.encode()
	if err != nil {
		return false, err
	}
	n, err := casScript.Run(ctx, s.c, []string{s.key(old)}, old.raw, raw, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("alerts: redis incidents: update %s: %w", s.key(old), err)
	}
	if n == 1 {
		next.raw = raw
	}
	return n == 1, nil
}

// Delete implements [IncidentStore].
func (s *RedisIncidents) Delete(ctx context.Context, old *Incident) (bool, error) {
	key := s.key(old)
	n, err := casScript.Run(ctx, s.c, []string{key}, old.raw, "", 0).Int()
	if err != nil {
		return false, fmt.Errorf("alerts: redis incidents: delete %s: %w", key, err)
	}
	if n == 1 {
		// A stale index member is harmless (List drops it); no error path.
		_ = s.c.SRem(ctx, s.k.incidentIndex(), key).Err()
	}
	return n == 1, nil
}

// Touch implements [IncidentStore] with PEXPIRE.
func (s *RedisIncidents) Touch(ctx context.Context, inc *Incident, ttl time.Duration) error {
	if err := s.c.PExpire(ctx, s.key(inc), ttl).Err(); err != nil {
		return fmt.Errorf("alerts: redis incidents: touch %s: %w", s.key(inc), err)
	}
	return nil
}

// List implements [IncidentStore]: SMEMBERS of the index, then one
// pipelined GET per member (routed per slot on a Cluster); members whose
// key has expired are removed from the index.
func (s *RedisIncidents) List(ctx context.Context) ([]*Incident, error) {
	keys, err := s.c.SMembers(ctx, s.k.incidentIndex()).Result()
	if err != nil {
		return nil, fmt.Errorf("alerts: redis incidents: list: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := s.c.Pipeline()
	gets := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		gets[i] = pipe.Get(ctx, k)
	}
	_, _ = pipe.Exec(ctx) // errors read per command
	var out []*Incident
	var stale []any
	for i, g := range gets {
		raw, err := g.Result()
		if errors.Is(err, redis.Nil) {
			stale = append(stale, keys[i])
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("alerts: redis incidents: get %s: %w", keys[i], err)
		}
		inc, err := decodeIncident(raw)
		if err != nil {
			return nil, fmt.Errorf("alerts: redis incidents: %s: %w", keys[i], err)
		}
		out = append(out, inc)
	}
	if len(stale) > 0 {
		_ = s.c.SRem(ctx, s.k.incidentIndex(), stale...).Err()
	}
	sortIncidents(out)
	return out, nil
}

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
