package lang

var botES = catalog{
	"bot.help": "Esto es lo que puedo hacer:\n" +
		"/new – abrir una solicitud (o /new <asunto>)\n" +
		"/tickets – sus solicitudes abiertas\n" +
		"/ticket N – ver la solicitud N\n" +
		"/close N – cerrar la solicitud N\n" +
		"/cancel – cancelar lo que haya empezado\n" +
		"/unlink – desvincular esta cuenta de Telegram\n\n" +
		"Para contestar a una solicitud, responda aquí a cualquiera de sus mensajes (o pulse «Responder» debajo). " +
		"Las fotos y los documentos se añaden como archivos adjuntos.",
	"bot.explain": "Este es el servicio de soporte de %s. Su cuenta de Telegram aún no está vinculada a ninguna cuenta " +
		"de cliente, así que todavía no puedo recibir sus mensajes.\n\nPara vincularla, entre en el panel de cliente, " +
		"elija Telegram y abra el enlace que aparece allí: abrirá este chat con /start y un código de un solo uso " +
		"(válido durante 15 minutos).",
	"bot.start_linked":       "Hola, %s. Esta cuenta de Telegram está vinculada a %s.",
	"bot.linked_now":         "Hola, %s. Su cuenta de Telegram ya está vinculada a %s. A partir de ahora también le avisaremos aquí de las novedades de sus solicitudes.",
	"bot.already_linked":     "Esta cuenta de Telegram ya está vinculada a %s.",
	"bot.link_code_invalid":  "Este código de vinculación no es válido, ya se ha usado o ha caducado. Genere uno nuevo en el panel.",
	"bot.link_first":         "Primero vincule su cuenta de Telegram.",
	"bot.unlinked":           "Esta cuenta de Telegram ya no está vinculada. Puede volver a vincularla desde el panel de cliente.",
	"bot.cancelled":          "Cancelado. No se ha enviado nada.",
	"bot.unknown_command":    "No conozco el comando /%s. No se ha cambiado nada.",
	"bot.usage_ticket":       "Uso: /ticket N, por ejemplo /ticket 42.",
	"bot.usage_close":        "Uso: /close N, por ejemplo /close 42.",
	"bot.new_topic":          "Nueva solicitud. ¿Sobre qué es?",
	"bot.choose_topic":       "Elija una categoría con los botones de arriba o envíe /cancel.",
	"bot.topic_set":          "Categoría: %s.\nAhora envíe el asunto en una sola línea (%d caracteres como máximo).",
	"bot.new_subject":        "Nueva solicitud: %s\nAhora describa el problema (con texto, una foto o un documento).",
	"bot.subject_set":        "Asunto: %s\nAhora describa el problema (con texto, una foto o un documento).",
	"bot.subject_as_text":    "Envíe el asunto como texto; los archivos puede adjuntarlos después, con la descripción.",
	"bot.subject_empty":      "El asunto no puede estar vacío. Envíelo como texto, por favor.",
	"bot.subject_too_long":   "El asunto tiene %d caracteres y el máximo es %d. Envíe uno más corto, por favor.",
	"bot.unsupported":        "Solo puedo recibir texto, fotos y documentos.",
	"bot.ask_new":            "¿Es una nueva solicitud?",
	"bot.ask_new_or_reply":   "¿Es una nueva solicitud o una respuesta a alguna de sus solicitudes abiertas?",
	"bot.expired":            "Esta pregunta ha caducado. Envíe /new para abrir una solicitud o simplemente escriba su mensaje.",
	"bot.expired_short":      "Esta pregunta ha caducado.",
	"bot.button_invalid":     "Este botón ya no es válido.",
	"bot.private_only":       "Este botón solo funciona en el chat privado.",
	"bot.reply_prompt":       "Escriba su respuesta a la solicitud n.º %d (%s) contestando a este mensaje.",
	"bot.no_tickets":         "No tiene solicitudes abiertas. Envíe /new para abrir una.",
	"bot.tickets_head":       "Sus solicitudes abiertas:",
	"bot.tickets_foot":       "Envíe /ticket N para ver una de ellas.",
	"bot.not_found":          "No encontramos la solicitud n.º %d entre las suyas. No se ha cambiado nada.",
	"bot.ticket_fields":      "Estado: %s · Categoría: %s",
	"bot.ticket_opened":      "Abierta el %s",
	"bot.ticket_earlier":     "(%d mensajes anteriores)",
	"bot.ticket_attachment":  "[adjunto: %s, %s]",
	"bot.who_you":            "Usted",
	"bot.who_support":        "Soporte",
	"bot.who_customer":       "Cliente",
	"bot.already_closed":     "La solicitud n.º %d ya estaba cerrada.",
	"bot.close_failed":       "No se ha podido cerrar la solicitud n.º %d: %s",
	"bot.closed":             "La solicitud n.º %d está cerrada. Si responde a ella, se abrirá una nueva.",
	"bot.added":              "Hemos añadido su mensaje a la solicitud n.º %d.",
	"bot.ticket_opened_now":  "Hemos abierto la solicitud n.º %d: %s\nLe responderemos por aquí. Para añadir algo, responda a este mensaje.",
	"bot.follow_up":          "La solicitud n.º %d está cerrada, así que su mensaje ha abierto una nueva, la n.º %d, que hace referencia a ella.\nPara añadir algo a la nueva, responda a este mensaje.",
	"bot.not_added":          "No se ha podido añadir su mensaje: %s",
	"bot.file_too_large":     "El archivo %q (%s) supera el límite de %s, así que no se ha añadido nada. Envíe un archivo más pequeño o un enlace para descargarlo.",
	"bot.file_over_download": "El archivo %q (%s) supera los %s que Telegram permite descargar a los bots, así que no se ha añadido nada. Envíe un archivo más pequeño o un enlace para descargarlo.",
	"bot.file_not_fetched":   "No he podido descargar el archivo %q de Telegram, así que no se ha añadido nada. Envíelo de nuevo, por favor.",
	"bot.staff_not_linked": "Su cuenta de Telegram no está vinculada a ningún usuario del equipo de soporte, así que esto no se ha añadido a la solicitud n.º %d. " +
		"Vincúlela desde el panel (POST /api/Telegram/Link) y envíe /start <código> al bot en un chat privado.",
	"bot.staff_only":    "Desde este chat solo el equipo de soporte puede contestar solicitudes; esto no se ha añadido a la solicitud n.º %d.",
	"bot.button_reply":  "Responder",
	"bot.button_close":  "Cerrar",
	"bot.button_cancel": "Cancelar",
	"bot.button_new":    "Nueva solicitud",
	"bot.button_pick":   "Responder a #%d %s",

	// /canned <name> in the staff chat (adapters/telegram/canned.go).
	"bot.canned_sent":    "Se ha enviado la respuesta predefinida %q en la solicitud n.º %d:\n\n%s",
	"bot.canned_unknown": "No hay ninguna respuesta predefinida llamada %q. Las respuestas predefinidas son: %s",
	"bot.canned_none":    "Todavía no hay respuestas predefinidas; el equipo de soporte las crea desde el panel (POST /api/staff/CannedReply).",
	"bot.canned_usage":   "Para enviar una respuesta predefinida, responda a la publicación de una solicitud con /canned <nombre>. Las respuestas predefinidas son: %s",

	// In a ticket's forum topic of the staff chat (adapters/telegram/topic_commands.go).
	"bot.topic_help":          "En el tema de una solicitud, todo lo que escriba llega al cliente. Comandos: /note <texto> — una nota interna; /progress, /resolve, /close — cambiar el estado; /assign me, /assign <departamento> — asignar la solicitud; /canned <nombre> — enviar una respuesta predefinida.",
	"bot.note_empty":          "Escriba la nota después del comando: /note <texto>.",
	"bot.note_added":          "Nota interna añadida a la solicitud #%d; el cliente no la ve.",
	"bot.not_changed":         "La solicitud #%d no se ha cambiado: %s",
	"bot.status_already":      "La solicitud #%d ya está en estado %s.",
	"bot.assign_usage":        "Indique a quién asignar la solicitud: /assign me, o /assign <departamento>.",
	"bot.assigned_me":         "La solicitud #%d está asignada a usted.",
	"bot.assigned_department": "La solicitud #%d está asignada al departamento %s.",
	"bot.no_departments":      "Todavía no hay departamentos; los administradores los crean en el panel.",
	"bot.department_unknown":  "No existe el departamento %q. Los departamentos: %s",
}
