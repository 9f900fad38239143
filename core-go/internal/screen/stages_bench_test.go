package screen

import (
	"syscall"
	"testing"
	"time"

	"porthole/core-go/internal/screen/vp8"
	"porthole/core-go/internal/screen/x11"
	"porthole/core-go/internal/screen/xvfbtest"
	"porthole/core-go/internal/screen/yuv"
)

// BenchmarkStages times capture, conversion and encoding of a busy
// 1280x720 screen separately (go test -bench Stages ./internal/screen/).
func BenchmarkStages(b *testing.B) {
	d := xvfbtest.Start(b, 1280, 720)
	xvfbtest.Spawn(b, d, "ico", "-faces", "-geometry", "1280x720+0+0")
	time.Sleep(300 * time.Millisecond)
	c, err := x11.OpenCapture(d)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	conv, _ := yuv.New(1280, 720, 1280, 720)
	defer conv.Close()
	enc, err := vp8.New(vp8.Config{Width: 1280, Height: 720, FPS: 30, BitrateKbps: 2000})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	var tc, tv, te time.Duration
	now := time.Now()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		f, err := c.Grab()
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := conv.Convert(f.Pix, f.Stride, enc.Image()); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := enc.Encode(now.Add(time.Duration(i)*33*time.Millisecond), 33*time.Millisecond, false); err != nil {
			b.Fatal(err)
		}
		te += time.Since(t2)
		tc += t1.Sub(t0)
		tv += t2.Sub(t1)
		time.Sleep(20 * time.Millisecond) // let ico draw
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/frame")
	n := time.Duration(b.N)
	b.ReportMetric(float64((tc/n).Microseconds())/1000, "capture-ms")
	b.ReportMetric(float64((tv/n).Microseconds())/1000, "convert-ms")
	b.ReportMetric(float64((te/n).Microseconds())/1000, "encode-ms")
}
