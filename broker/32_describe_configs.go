package broker

// DescribeConfigs: v1–4
//
// Behavior:
//   - Topic resources: every topic config (or the named ones; unknown
//     names are left out, as Kafka does) with its effective value and
//     source: the topic's override, this broker's or the cluster's
//     dynamic default, the static config, or Kafka's default; synonyms
//     (the broker configs a topic config falls back to) when asked.
//     A missing topic is UNKNOWN_TOPIC_OR_PARTITION.
//   - Broker resources: "<node id>" describes this broker's configs, ""
//     the cluster-wide dynamic defaults. Another broker's id is
//     INVALID_REQUEST. Broker loggers are not served (INVALID_REQUEST).
//
// Version notes:
//   - v1+: sources and synonyms. v3+: types and documentation. v4+:
//     flexible.

import (
	"fmt"
	"strconv"

	"github.com/gregor-dst/gregor/broker/configs"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { regKey(32, 1, 4, (*Broker).serveDescribeConfigs) }

func (b *Broker) serveDescribeConfigs(r *request) {
	req := r.req.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		entries, e, msg := b.describeResource(rr)
		if e != nil {
			sr.ErrorCode, sr.ErrorMessage = e.Code, &msg
		}
		for _, en := range entries {
			sr.Configs = append(sr.Configs, describedConfig(en, req.IncludeSynonyms, req.IncludeDocumentation))
		}
		resp.Resources = append(resp.Resources, sr)
	}
	r.respond(resp)
}

func (b *Broker) describeResource(rr kmsg.DescribeConfigsRequestResource) ([]configs.Entry, *kerr.Error, string) {
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		t := b.topics[rr.ResourceName]
		if t == nil {
			return nil, kerr.UnknownTopicOrPartition, fmt.Sprintf("Topic %s does not exist.", rr.ResourceName)
		}
		return configs.DescribeTopic(b.layers(t.configs), rr.ConfigNames), nil, ""
	case kmsg.ConfigResourceTypeBroker:
		if rr.ResourceName == "" {
			return configs.DescribeClusterDefault(b.dynCluster, rr.ConfigNames), nil, ""
		}
		if e, msg := b.checkBrokerResource(rr.ResourceName); e != nil {
			return nil, e, msg
		}
		return configs.DescribeBroker(b.layers(configs.Set{}), rr.ConfigNames), nil, ""
	}
	return nil, kerr.InvalidRequest, fmt.Sprintf("Unsupported resource type: %v", rr.ResourceType)
}

// checkBrokerResource accepts only this broker's id as a broker resource
// name, with Kafka's message otherwise.
func (b *Broker) checkBrokerResource(name string) (*kerr.Error, string) {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil || int32(id) != b.cfg.NodeID {
		return kerr.InvalidRequest, fmt.Sprintf("Unexpected broker id, expected %d or empty string, but received %s", b.cfg.NodeID, name)
	}
	return nil, ""
}

func describedConfig(e configs.Entry, synonyms, docs bool) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.ReadOnly, c.Source, c.IsSensitive = e.Name, e.Value, e.ReadOnly, e.Source, e.Sensitive
	c.IsDefault = e.Source == kmsg.ConfigSourceDefaultConfig
	c.ConfigType = e.Type
	if docs {
		d := e.Documentation
		c.Documentation = &d
	}
	if synonyms {
		for _, s := range e.Synonyms {
			sy := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			sy.Name, sy.Value, sy.Source = s.Name, s.Value, s.Source
			c.ConfigSynonyms = append(c.ConfigSynonyms, sy)
		}
	}
	return c
}
