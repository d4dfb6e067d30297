package lang

var labelsES = catalog{
	"topic.0":  "General",
	"topic.1":  "Redes",
	"topic.2":  "Normas",
	"topic.3":  "Facturación",
	"topic.4":  "SSL / Certificados",
	"topic.5":  "Rendimiento",
	"status.0": "Abierto",
	"status.1": "En curso",
	"status.2": "Resuelto",
	"status.3": "Cerrado",
}
