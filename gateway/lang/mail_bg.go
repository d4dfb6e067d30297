package lang

var mailBG = catalog{}
