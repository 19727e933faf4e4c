package tcti

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"time"
)

// The Microsoft simulator protocol (TPM 2.0 reference implementation,
// TpmTcpProtocol.h): commands go to the command port framed as
// SEND_COMMAND, locality, size, bytes; the answer is size, bytes, then a
// 32-bit status. Power and NV are switched on through the platform port
// (command port + 1), as the TSS mssim TCTI does at start.
const (
	mssimSignalPowerOn = 1
	mssimSendCommand   = 8
	mssimSignalNVOn    = 11
	mssimSessionEnd    = 20
)

type mssim struct {
	cfg  Config
	conn net.Conn
}

func openMssim(c Config) (Transport, error) {
	platAddr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port+1))
	p, err := net.DialTimeout("tcp", platAddr, dialTimeout)
	if err != nil {
		return nil, transportErr("connecting to the simulator's platform port %s: %v", platAddr, err)
	}
	defer p.Close()
	_ = p.SetDeadline(time.Now().Add(dialTimeout))
	for _, sig := range []uint32{mssimSignalPowerOn, mssimSignalNVOn} {
		if err := platformSignal(p, sig); err != nil {
			return nil, transportErr("simulator platform port %s: %v (is this an MS/IBM TPM simulator? for swtpm use tcti = \"swtpm:host=%s,port=%d\")", platAddr, err, c.Host, c.Port)
		}
	}
	_ = binary.Write(p, binary.BigEndian, uint32(mssimSessionEnd))
	conn, err := net.DialTimeout("tcp", c.addr(), dialTimeout)
	if err != nil {
		return nil, transportErr("connecting to the simulator's command port %s: %v", c.addr(), err)
	}
	return &mssim{cfg: c, conn: conn}, nil
}

func platformSignal(rw io.ReadWriter, sig uint32) error {
	if err := binary.Write(rw, binary.BigEndian, sig); err != nil {
		return err
	}
	var rc uint32
	if err := binary.Read(rw, binary.BigEndian, &rc); err != nil {
		return err
	}
	if rc != 0 {
		return &platformError{sig: sig, rc: rc}
	}
	return nil
}

type platformError struct{ sig, rc uint32 }

func (e *platformError) Error() string {
	return "platform signal " + strconv.Itoa(int(e.sig)) + " answered " + strconv.Itoa(int(e.rc))
}

func (m *mssim) Send(cmd []byte) ([]byte, error) {
	if err := checkCommand(cmd); err != nil {
		return nil, err
	}
	if err := m.conn.SetDeadline(time.Now().Add(responseTimeout)); err != nil {
		return nil, transportErr("simulator: %v", err)
	}
	frame := make([]byte, 9, 9+len(cmd))
	binary.BigEndian.PutUint32(frame[0:], mssimSendCommand)
	frame[4] = 0 // locality
	binary.BigEndian.PutUint32(frame[5:], uint32(len(cmd)))
	frame = append(frame, cmd...)
	if _, err := m.conn.Write(frame); err != nil {
		return nil, transportErr("sending to the simulator at %s: %v", m.cfg.addr(), err)
	}
	var n uint32
	if err := binary.Read(m.conn, binary.BigEndian, &n); err != nil {
		return nil, transportErr("reading from the simulator at %s: %v", m.cfg.addr(), err)
	}
	if n < 10 || n > maxResponse {
		return nil, transportErr("simulator announced a %d-byte response", n)
	}
	rsp := make([]byte, n)
	if _, err := io.ReadFull(m.conn, rsp); err != nil {
		return nil, transportErr("reading from the simulator at %s: %v", m.cfg.addr(), err)
	}
	var ack uint32
	if err := binary.Read(m.conn, binary.BigEndian, &ack); err != nil {
		return nil, transportErr("reading the simulator's status: %v", err)
	}
	if ack != 0 {
		return nil, transportErr("simulator status %d after the response", ack)
	}
	if size, err := responseSize(rsp); err != nil {
		return nil, err
	} else if size != len(rsp) {
		return nil, transportErr("simulator response: header says %d bytes, frame has %d", size, len(rsp))
	}
	return rsp, nil
}

func (m *mssim) Close() error {
	_ = binary.Write(m.conn, binary.BigEndian, uint32(mssimSessionEnd))
	return m.conn.Close()
}
