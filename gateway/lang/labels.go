package lang

import "strconv"

// TopicLabel is the label of topic n (core.Topic) in language: "topic.<n>".
func TopicLabel(language string, n int) string { return Text(language, "topic."+strconv.Itoa(n)) }

// StatusLabel is the label of status n (core.Status) in language: "status.<n>".
func StatusLabel(language string, n int) string { return Text(language, "status."+strconv.Itoa(n)) }
