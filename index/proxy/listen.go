package proxy

import "net"

// ListenHosts returns the hosts, besides loopback names, that a server
// listening on listenHost (the host part of a listen address) is reached
// by, for Config.Hosts: the host itself, normalized with NormalizeHost,
// or, for "" and the unspecified addresses 0.0.0.0 and ::, which stand
// for every address of this machine, each of those. A host that does
// not normalize adds nothing: listening on it already failed or will.
// The error is net.InterfaceAddrs', for the caller to say what it was
// listing the addresses for (cmd names its --listen flag).
func ListenHosts(listenHost string) ([]string, error) {
	ip := net.ParseIP(listenHost)
	if listenHost != "" && (ip == nil || !ip.IsUnspecified()) {
		if n, err := NormalizeHost(listenHost); err == nil {
			return []string{n}, nil
		}
		return nil, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			hosts = append(hosts, ipn.IP.String())
		}
	}
	return hosts, nil
}
