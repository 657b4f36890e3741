"""Titles, summaries and purposes of some demo use cases in the agencies' own languages, so the
demo shows records whose language is not English (with their English title)."""

LOCALISED: dict[str, dict[str, tuple[str, str, str]]] = {
    "signal-detection": {
        "de": (
            "Assistenzsystem zur Signaldetektion in EudraVigilance",
            "Ordnet statistische Signale nach Stärke und Neuheit, damit Gutachterinnen und "
            "Gutachter die wichtigsten zuerst prüfen.",
            "Die Zeit vom Eingang der Fallberichte bis zum validierten Signal verkürzen.",
        ),
        "fr": (
            "Aide à la détection de signaux dans EudraVigilance",
            "Classe les signaux de disproportionnalité afin que les évaluateurs examinent "
            "d'abord les plus forts et les plus récents.",
            "Réduire le délai entre la réception des cas et la validation d'un signal.",
        ),
        "nl": (
            "Ondersteuning bij signaaldetectie in EudraVigilance",
            "Rangschikt statistische signalen zodat beoordelaars de sterkste en nieuwste eerst "
            "bekijken.",
            "De tijd tussen binnenkomst van meldingen en een gevalideerd signaal verkorten.",
        ),
    },
    "icsr-triage": {
        "de": (
            "Triage von Einzelfallberichten nach Schweregrad",
            "Ordnet eingehende Verdachtsfallberichte nach Schwere und Erwartetheit, damit "
            "schwerwiegende unerwartete Fälle noch am selben Tag bearbeitet werden.",
            "Die 15-Tage-Meldefristen trotz steigender Fallzahlen einhalten.",
        ),
        "fr": (
            "Tri des cas de pharmacovigilance par gravité",
            "Classe les déclarations d'effets indésirables selon leur gravité et leur caractère "
            "inattendu pour traiter le jour même les cas graves inattendus.",
            "Respecter les délais de 15 jours malgré l'augmentation du nombre de cas.",
        ),
        "nl": (
            "Triage van bijwerkingsmeldingen op ernst",
            "Deelt binnenkomende meldingen in naar ernst en verwachtheid, zodat ernstige "
            "onverwachte meldingen dezelfde dag worden behandeld.",
            "De meldtermijn van 15 dagen halen bij een groeiend aantal meldingen.",
        ),
    },
    "smpc-search": {
        "de": (
            "Semantische Suche in Fach- und Gebrauchsinformationen",
            "Findet Textstellen in allen zugelassenen Produktinformationen nach ihrer Bedeutung, "
            "zum Beispiel jede Fachinformation mit Warnhinweis zur QT-Verlängerung.",
            "Fragen zu Produktinformationen schneller beantworten.",
        ),
        "fr": (
            "Recherche sémantique dans les RCP et notices",
            "Retrouve par le sens, et non par les mots, les passages de toutes les informations "
            "produit autorisées.",
            "Répondre plus vite aux questions sur l'information produit.",
        ),
        "nl": (
            "Semantisch zoeken in SmPC's en bijsluiters",
            "Vindt passages in alle goedgekeurde productinformatie op betekenis in plaats van "
            "op trefwoord.",
            "Vragen over productinformatie sneller beantwoorden.",
        ),
    },
    "pi-translation": {
        "de": (
            "Maschinelle Übersetzung von Produktinformationen",
            "Übersetzt Fach- und Gebrauchsinformationen mit der abgestimmten Terminologie; "
            "Sprachfachleute prüfen jede Übersetzung vor der Veröffentlichung.",
            "Zeit und Kosten für aktuelle Produktinformationen in allen Sprachen senken.",
        ),
        "fr": (
            "Traduction automatique de l'information produit",
            "Traduit les RCP et notices avec la terminologie convenue ; des linguistes relisent "
            "chaque traduction avant publication.",
            "Réduire le délai et le coût de mise à jour des informations dans toutes les langues.",
        ),
        "nl": (
            "Machinevertaling van productinformatie",
            "Vertaalt SmPC's en bijsluiters met de afgesproken terminologie; vertalers "
            "controleren elke vertaling voor publicatie.",
            "Tijd en kosten besparen bij het actueel houden van productinformatie.",
        ),
    },
    "inspection-planning": {
        "de": (
            "Risikobasierte Planung von GMP-Inspektionen",
            "Bewertet Herstellungs- und Vertriebsstätten nach Vorgeschichte, Kritikalität der "
            "Produkte und Lieferkettensignalen und schlägt das Inspektionsprogramm vor.",
            "Inspektionszeit dort einsetzen, wo das Risiko für Patienten am höchsten ist.",
        ),
        "fr": (
            "Planification des inspections BPF fondée sur le risque",
            "Évalue les sites de fabrication et de distribution selon leur historique et la "
            "criticité des produits pour proposer le programme d'inspections.",
            "Consacrer le temps des inspecteurs aux sites les plus à risque pour les patients.",
        ),
        "nl": (
            "Risicogebaseerde planning van GMP-inspecties",
            "Beoordeelt productie- en distributielocaties op historie, kritikaliteit van "
            "producten en signalen uit de keten en stelt het inspectieprogramma voor.",
            "Inspectietijd inzetten waar het risico voor patiënten het grootst is.",
        ),
    },
    "shortage-prediction": {
        "de": (
            "Frühwarnsystem für Lieferengpässe",
            "Sagt Lieferengpässe kritischer Arzneimittel aus Beständen, Absatzdaten und "
            "Herstellermeldungen vier bis acht Wochen im Voraus voraus.",
            "Handeln, bevor Patientinnen und Patienten betroffen sind.",
        ),
        "fr": (
            "Alerte précoce sur les ruptures de stock",
            "Prévoit les ruptures d'approvisionnement de médicaments critiques quatre à huit "
            "semaines à l'avance.",
            "Agir avant que les patients ne soient touchés.",
        ),
        "nl": (
            "Vroegtijdige signalering van geneesmiddelentekorten",
            "Voorspelt tekorten van kritieke geneesmiddelen vier tot acht weken vooruit op basis "
            "van voorraden, verkoop en meldingen van fabrikanten.",
            "Ingrijpen voordat patiënten er last van hebben.",
        ),
    },
    "gmp-report-summaries": {
        "de": (
            "Zusammenfassung von GMP-Inspektionsberichten",
            "Fasst Inspektionsberichte zusammen und ordnet Mängel den Kapiteln des EU-GMP-"
            "Leitfadens zu.",
            "Erkenntnisse aus Jahren von Inspektionen für Planung und Schulung nutzbar machen.",
        ),
        "fr": (
            "Synthèse des rapports d'inspection BPF",
            "Résume les rapports d'inspection et regroupe les écarts par chapitre des BPF.",
            "Exploiter des années de constats d'inspection pour la planification et la formation.",
        ),
        "nl": (
            "Samenvatten van GMP-inspectierapporten",
            "Vat inspectierapporten samen en groepeert tekortkomingen per hoofdstuk van de EU-GMP.",
            "Jaren aan inspectiebevindingen bruikbaar maken voor planning en opleiding.",
        ),
    },
    "variation-classification": {
        "de": (
            "Assistent zur Einstufung von Änderungsanzeigen",
            "Schlägt den Änderungstyp (IA, IB oder II) und den Code der Klassifizierungsleitlinie "
            "für eingehende Änderungsanzeigen vor.",
            "Änderungen vom ersten Tag an dem richtigen Verfahren zuordnen.",
        ),
        "fr": (
            "Aide à la classification des variations",
            "Propose le type de variation (IA, IB ou II) et le code de la ligne directrice pour "
            "les demandes reçues.",
            "Orienter chaque variation vers la bonne procédure dès le premier jour.",
        ),
        "nl": (
            "Hulp bij het classificeren van wijzigingen",
            "Stelt het type wijziging (IA, IB of II) en de code uit de classificatierichtlijn "
            "voor bij binnenkomende aanvragen.",
            "Wijzigingen vanaf dag één in de juiste procedure plaatsen.",
        ),
    },
    "public-enquiries": {
        "de": (
            "Weiterleitung von Bürgeranfragen mit Antwortvorschlägen",
            "Sortiert Anfragen nach Thema und schlägt Antworten aus freigegebenen Texten vor; "
            "jede Antwort versendet ein Mensch.",
            "Anfragen schneller und einheitlich beantworten.",
        ),
        "fr": (
            "Orientation des questions du public avec propositions de réponse",
            "Trie les questions par thème et propose une réponse tirée de textes validés ; un "
            "agent envoie chaque réponse.",
            "Répondre au public plus vite et de façon cohérente.",
        ),
        "nl": (
            "Doorsturen van publieksvragen met antwoordsuggesties",
            "Sorteert vragen op onderwerp en stelt een antwoord voor uit goedgekeurde teksten; "
            "een medewerker verstuurt elk antwoord.",
            "Vragen van het publiek sneller en consistent beantwoorden.",
        ),
    },
}
