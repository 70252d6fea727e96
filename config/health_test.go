package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestForwarderStartTimeout(t *testing.T) {
	c, err := LoadForwarder(env(nil))
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, c.StartTimeout)

	c, err = LoadForwarder(env(map[string]string{"FORWARDER_START_TIMEOUT": "3s"}))
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, c.StartTimeout)

	for _, bad := range []string{"0s", "-1s"} {
		_, err := LoadForwarder(env(map[string]string{"FORWARDER_START_TIMEOUT": bad}))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "FORWARDER_START_TIMEOUT="+bad+": must be above 0")
	}
	_, err = LoadForwarder(env(map[string]string{"FORWARDER_START_TIMEOUT": "soon"}))
	assert.ErrorContains(t, err, `FORWARDER_START_TIMEOUT="soon": not a duration`)
}
