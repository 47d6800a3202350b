package controller

import (
	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/gregor-dst/gregor/broker/meta"
	"github.com/gregor-dst/gregor/internal/assert"
)

// The configs the controller decides with resolve as Kafka's controller
// resolves them: a topic's override, then the dynamic cluster-wide
// default, then the controller's static configs, then the default. A
// single broker's dynamic configs are that broker's business.

// layers resolves a topic's overrides (empty for a new topic or a broker
// setting) against im.
func (c *Controller) layers(im *meta.Image, topic configs.Set) configs.Layers {
	return configs.Layers{Topic: topic, ClusterDefault: configs.SetOf(im.ClusterConfigs), Static: c.cfg.Static}
}

// unclean is each topic's unclean.leader.election.enable in im.
func (c *Controller) unclean(im *meta.Image) func(topic string) bool {
	return func(topic string) bool {
		var overrides configs.Set
		if t := im.Topics[topic]; t != nil {
			overrides = configs.SetOf(t.Configs)
		}
		ts, err := configs.TopicSettingsOf(c.layers(im, overrides))
		return err == nil && ts.UncleanLeaderElection
	}
}

// settings are the broker settings the controller decides with.
func (c *Controller) settings(im *meta.Image) configs.BrokerSettings {
	bs, err := configs.BrokerSettingsOf(c.layers(im, configs.Set{}))
	// Static was checked by New and every dynamic value when it was set.
	assert.Thatf(err == nil, "controller: broker settings no longer resolve: %v", err)
	return bs
}
