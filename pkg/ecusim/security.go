package ecusim

import (
	"fmt"
	"slices"
	"time"
)

// securityConfig is a validated Security.
type securityConfig struct {
	levels      []byte
	seed        []byte
	key         []byte // the expected key, computed once: the seed is fixed
	maxAttempts int
	lockout     time.Duration
}

// Key algorithms of Security.Algorithm: simple on purpose, since the point is to test a
// tester's seed and key handling, not cryptography.
const (
	// AlgorithmXOR expects the seed XOR the constant (repeated over the seed).
	AlgorithmXOR = "xor"
	// AlgorithmAdd expects seed + constant as big-endian integers of the seed's length.
	AlgorithmAdd = "add"
	// AlgorithmFixed expects the constant itself, whatever the seed.
	AlgorithmFixed = "fixed"
)

// compileSecurity validates s (nil: defaults) and computes the expected key.
func compileSecurity(field string, s *Security) (securityConfig, error) {
	if s == nil {
		s = &Security{}
	}
	c := securityConfig{maxAttempts: s.MaxAttempts}
	levels := s.Levels
	if levels == nil {
		levels = []int{1}
	}
	for i, l := range levels {
		if l < 1 || l > 0x7D || l%2 == 0 {
			return c, fieldErr(fmt.Sprintf("%s.levels[%d]", field, i), "a seed level is odd and within 1..0x7D, got %d", l)
		}
		c.levels = append(c.levels, byte(l))
	}
	seed, constant := s.Seed, s.Constant
	if seed == "" {
		seed = "11 22 33 44"
	}
	if constant == "" {
		constant = "5A 5A 5A 5A"
	}
	var err error
	if c.seed, err = hexField(field+".seed", seed); err != nil {
		return c, err
	}
	if len(c.seed) == 0 || isZero(c.seed) {
		return c, fieldErr(field+".seed", "must be non-empty and not all zero (a zero seed means already unlocked)")
	}
	k, err := hexField(field+".constant", constant)
	if err != nil {
		return c, err
	}
	if len(k) == 0 {
		return c, fieldErr(field+".constant", "must not be empty")
	}
	switch s.Algorithm {
	case "", AlgorithmXOR:
		c.key = make([]byte, len(c.seed))
		for i := range c.seed {
			c.key[i] = c.seed[i] ^ k[i%len(k)]
		}
	case AlgorithmAdd:
		if len(k) > len(c.seed) {
			return c, fieldErr(field+".constant", "add needs a constant no longer than the seed (%d bytes)", len(c.seed))
		}
		c.key = addBigEndian(c.seed, k)
	case AlgorithmFixed:
		c.key = k
	default:
		return c, fieldErr(field+".algorithm", "want xor, add or fixed, got %q", s.Algorithm)
	}
	if c.maxAttempts == 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxAttempts < 0 {
		return c, fieldErr(field+".maxAttempts", "must be positive")
	}
	c.lockout, err = duration(field+".lockout", s.Lockout, DefaultLockout)
	return c, err
}

// addBigEndian adds b to a as big-endian unsigned integers of len(a) bytes, modulo 2^(8*len(a)).
func addBigEndian(a, b []byte) []byte {
	out := slices.Clone(a)
	carry := 0
	for i := 1; i <= len(out); i++ {
		sum := int(out[len(out)-i]) + carry
		if i <= len(b) {
			sum += int(b[len(b)-i])
		}
		out[len(out)-i], carry = byte(sum), sum>>8
	}
	return out
}

func isZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}
