package devstack

// Process sampling for the benchmark: per-service CPU ticks, process
// membership and peak RSS read from /proc, the ServiceUsage they add up
// to, and the Machine the benchmark ran on.

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// PID returns the process id of the named service (temporal, dynalite,
// simulator, worker, lambda), or 0 if this Stack did not start it.
func (s *Stack) PID(name string) int {
	for _, p := range s.procs {
		if p.name == name && p.cmd.Process != nil {
			return p.cmd.Process.Pid
		}
	}
	return 0
}

// ServiceUsage is what one service's processes (its process group and
// descendants) used during a run.
type ServiceUsage struct {
	PID        int     `json:"pid"`
	Processes  int     `json:"processes"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// Cores is CPUSeconds over the wall time of the window: 1 = one core busy.
	Cores float64 `json:"cores"`
	// PeakRSSBytes sums VmHWM of the service's processes at the end.
	PeakRSSBytes int64 `json:"peakRssBytes"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	NProc     int    `json:"nproc"`
	CPUModel  string `json:"cpuModel"`
	MemTotal  string `json:"memTotal"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"goVersion"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
}

// procInfo is one process as /proc/<pid>/stat shows it.
type procInfo struct {
	ppid, pgrp int
	// ticks is utime+stime of the process and of its reaped children.
	ticks int64
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

func readProcs() map[int]procInfo {
	procs := map[int]procInfo{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return procs
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if info, ok := readProcStat(pid); ok {
			procs[pid] = info
		}
	}
	return procs
}

func readProcStat(pid int) (procInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	// The command name may hold spaces and parentheses; fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return procInfo{}, false
	}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	// f[0] is field 3 (state): ppid 4, pgrp 5, utime 14, stime 15, cutime 16, cstime 17.
	return procInfo{ppid: int(num(f[1])), pgrp: int(num(f[2])), ticks: num(f[11]) + num(f[12]) + num(f[13]) + num(f[14])}, true
}

// members are the processes of the service started as root: its process
// group and every descendant.
func members(root int, procs map[int]procInfo) []int {
	var pids []int
	for pid, info := range procs {
		if pid == root || info.pgrp == root {
			pids = append(pids, pid)
			continue
		}
		for up, hops := info.ppid, 0; up > 1 && hops < 64; hops++ {
			if up == root {
				pids = append(pids, pid)
				break
			}
			parent, ok := procs[up]
			if !ok {
				break
			}
			up = parent.ppid
		}
	}
	return pids
}

// cpuSample is CPU ticks per service, "driver" being this process.
type cpuSample map[string]int64

func stackCPU(s *Stack) cpuSample {
	procs := readProcs()
	sample := cpuSample{}
	for _, p := range s.procs {
		var ticks int64
		for _, pid := range members(p.cmd.Process.Pid, procs) {
			ticks += procs[pid].ticks
		}
		sample[p.name] = ticks
	}
	if self, ok := readProcStat(os.Getpid()); ok {
		sample["driver"] = self.ticks
	}
	return sample
}

func usageBetween(s *Stack, before, after cpuSample, window time.Duration) map[string]ServiceUsage {
	procs := readProcs()
	usage := map[string]ServiceUsage{}
	for name, ticks := range after {
		u := ServiceUsage{CPUSeconds: round3(float64(ticks-before[name]) / clockTicks)}
		if window > 0 {
			u.Cores = round3(u.CPUSeconds / window.Seconds())
		}
		root := os.Getpid()
		if name != "driver" {
			root = s.PID(name)
		}
		u.PID = root
		pids := []int{root}
		if name != "driver" {
			pids = members(root, procs)
		}
		u.Processes = len(pids)
		for _, pid := range pids {
			u.PeakRSSBytes += peakRSS(pid)
		}
		usage[name] = u
	}
	return usage
}

// peakRSS reads VmHWM, the process's peak resident set size.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func machineInfo() Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(rest)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// MachineLoad is how busy the whole machine was during a window: every
// process, the benchmark's stack and the driver included, and what the
// rest (other work sharing the machine) took.
type MachineLoad struct {
	// BusyCores is the machine's CPU time over the window's wall time.
	BusyCores float64 `json:"busyCores"`
	// StackCores is the benchmark's own share (its services and driver).
	StackCores float64 `json:"stackCores"`
	// OtherCores is everything else: other work on the machine.
	OtherCores float64 `json:"otherCores"`
	// LoadAverage is /proc/loadavg's one-minute figure at the end.
	LoadAverage float64 `json:"loadAverage"`
}

// machineTicks reads the machine's busy and total CPU ticks from /proc/stat.
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already in user time
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// machineLoad is the machine's load between two machineTicks samples over
// window, given the stack's own usage in it.
func machineLoad(busyBefore, busyAfter int64, window time.Duration, usage map[string]ServiceUsage) MachineLoad {
	var m MachineLoad
	if window > 0 {
		m.BusyCores = round3(float64(busyAfter-busyBefore) / clockTicks / window.Seconds())
	}
	for _, u := range usage {
		m.StackCores += u.Cores
	}
	m.StackCores = round3(m.StackCores)
	m.OtherCores = round3(max(0, m.BusyCores-m.StackCores))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.LoadAverage, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return m
}
