package memory

import "runtime/metrics"

// Retained is the memory the Go runtime holds from the OS and has not
// returned (everything it mapped minus the heap pages it released): close to
// the process's resident size when no cgo library holds memory of its own.
func Retained() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}
