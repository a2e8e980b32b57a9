package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DeliveryRecord is one attempt to deliver one event to one sink, as the
// dashboard lists them. It names the sink, never its URL or headers.
type DeliveryRecord struct {
	Time      time.Time `json:"time"`
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	// Incident is the event's incident id.
	Incident string `json:"incident"`
	Rule     string `json:"rule"`
	// Subject is the incident's country, ASN or network ("KZ AS9198").
	Subject string `json:"subject"`
	Sink    string `json:"sink"`
	Format  string `json:"format"`
	// Attempt counts this event's attempts to this sink, from 1.
	Attempt int `json:"attempt"`
	// Outcome is delivered, retry, failed or gone.
	Outcome string `json:"outcome"`
	// Status is the HTTP status; 0 when no response came.
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// DurationMS is the attempt's duration in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	// NextAttempt is when the next attempt is due (retry outcomes).
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	Node        string     `json:"node,omitempty"`
}

// DeliveryLog keeps the most recent delivery attempts, bounded.
type DeliveryLog interface {
	// Append adds a record, dropping the oldest beyond the log's size.
	Append(ctx context.Context, r DeliveryRecord) error
	// Recent returns up to n records, newest first; n <= 0 means all.
	Recent(ctx context.Context, n int) ([]DeliveryRecord, error)
}

// MemoryDeliveryLog is a ring of the last records in this process. The
// ring grows as records come, up to its size: an edge that never sends an
// alert keeps no empty records for the garbage collector to scan on every
// cycle (a full ring of the default 1 000 is about 216 KB).
type MemoryDeliveryLog struct {
	mu   sync.Mutex
	ring []DeliveryRecord // len grows to size, then the oldest is overwritten
	size int
	next int // where the next record goes once the ring is full
}

var _ DeliveryLog = (*MemoryDeliveryLog)(nil)

// NewMemoryDeliveryLog returns a log keeping size records; size <= 0 means
// DefaultDeliveryLogSize.
func NewMemoryDeliveryLog(size int) *MemoryDeliveryLog {
	if size <= 0 {
		size = DefaultDeliveryLogSize
	}
	return &MemoryDeliveryLog{size: size}
}

// Append implements [DeliveryLog].
func (l *MemoryDeliveryLog) Append(_ context.Context, r DeliveryRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < l.size {
		l.ring = append(l.ring, r)
		return nil
	}
	l.ring[l.next] = r
	l.next = (l.next + 1) % l.size
	return nil
}

// Recent implements [DeliveryLog].
func (l *MemoryDeliveryLog) Recent(_ context.Context, n int) ([]DeliveryRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := len(l.ring)
	if n <= 0 || n > size {
		n = size
	}
	// The newest record is just before next; until the ring is full, next
	// is 0 and the newest is the last one appended, at -1 modulo size.
	out := make([]DeliveryRecord, n)
	for i := range out {
		out[i] = l.ring[(l.next-1-i+size)%size]
	}
	return out, nil
}

// RedisDeliveryLog is a delivery log shared by the nodes: a Redis LIST
// P:{outbox}:log, newest first, trimmed to its size on every append
// (LPUSH and LTRIM in one MULTI; one key, so it works on a Cluster).
type RedisDeliveryLog struct {
	c    redis.UniversalClient
	key  string
	size int64
}

var _ DeliveryLog = (*RedisDeliveryLog)(nil)

// NewRedisDeliveryLog returns a log under prefix (default "mw") keeping
// size records (default DefaultDeliveryLogSize).
func NewRedisDeliveryLog(client redis.UniversalClient, prefix string, size int) (*RedisDeliveryLog, error) {
	if client == nil {
		return nil, errors.New("alerts: NewRedisDeliveryLog: client is nil")
	}
	k, err := newCoordKeys(prefix)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		size = DefaultDeliveryLogSize
	}
	return &RedisDeliveryLog{c: client, key: k.deliveryLog(), size: int64(size)}, nil
}

// Append implements [DeliveryLog].
func (l *RedisDeliveryLog) Append(ctx context.Context, r DeliveryRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("alerts: delivery log: %w", err)
	}
	_, err = l.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, l.key, b)
		p.LTrim(ctx, l.key, 0, l.size-1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("alerts: delivery log: %w", err)
	}
	return nil
}

// Recent implements [DeliveryLog].
func (l *RedisDeliveryLog) Recent(ctx context.Context, n int) ([]DeliveryRecord, error) {
	stop := int64(n) - 1
	if n <= 0 {
		stop = -1
	}
	vals, err := l.c.LRange(ctx, l.key, 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("alerts: delivery log: %w", err)
	}
	out := make([]DeliveryRecord, 0, len(vals))
	for _, v := range vals {
		var r DeliveryRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("alerts: delivery log: bad record: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}
