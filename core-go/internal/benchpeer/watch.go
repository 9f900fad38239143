package benchpeer

// Watch makes the peer an observer that reads its output (the bench's
// observers of a shared session): from the first call on, a goroutine drops
// every output chunk as it arrives, so the peer's queue never fills and its
// channel never pushes back, until the peer is closed. Every call returns the
// output bytes and messages received so far.
func (p *Peer) Watch() (bytes, messages int64) {
	p.watchOnce.Do(func() {
		go func() {
			for {
				select {
				case <-p.out:
				case <-p.closed:
					return
				}
			}
		}()
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytesIn, p.messagesIn
}
