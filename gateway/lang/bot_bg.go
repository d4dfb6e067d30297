package lang

var botBG = catalog{}
